"""Builders the in-processing tests share: tiny models and the planted taste-groups data."""

from __future__ import annotations

import pandas as pd

from equirec.data import make_synthetic
from equirec.data.dataset import Dataset
from equirec.evaluation.evaluator import evaluate
from equirec.models.bert4rec import BERT4Rec
from equirec.models.bpr import BPR
from equirec.models.sequential import SASRec

DIM = 16


def _sasrec(**kw: object) -> SASRec:
    params: dict = dict(dim=DIM, layers=1, max_len=20, epochs=10, batch_size=32, lr=5e-3)
    params.update(dropout=0.1, device="cpu", seed=0)
    params.update(kw)
    return SASRec(**params)


def _bert4rec(**kw: object) -> BERT4Rec:
    params: dict = dict(dim=DIM, layers=1, max_len=20, epochs=10, batch_size=32, lr=5e-3)
    params.update(dropout=0.1, device="cpu", seed=0)
    params.update(kw)
    return BERT4Rec(**params)


def _bpr(**kw: object) -> BPR:
    params: dict = dict(dim=DIM, epochs=20, batch_size=256, lr=1e-2, device="cpu")
    params.update(kw)
    return BPR(**params)


def _taste_groups() -> Dataset:
    """Two equal user groups, each keeping 90% of its items in its own taste cluster."""
    return make_synthetic(
        n_users=300,
        n_items=80,
        n_interactions_per_user=12,
        user_bias=0.9,
        group_sizes=[0.5, 0.5],
        seed=0,
    )


def _ndcg(model, split) -> float:
    return evaluate(model, test=split.test, ks=(10,)).overall["ndcg@10"]


def _one_class(train: Dataset) -> Dataset:
    """``train`` with every user in the same ``group`` class (too few classes to debias)."""
    return Dataset(
        interactions=train.interactions[["user", "item", "timestamp"]],
        user_attributes=pd.DataFrame({"group": "x"}, index=train.user_ids),
        user_ids=train.user_ids,
        item_ids=train.item_ids,
    )
