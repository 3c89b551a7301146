"""The cold-user curve: metrics by how many known items a model is given, on the same users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.evaluation.cold_users import history_length_curve, truncated
from equirec.models.base import Recommender
from equirec.models.bpr import BPR


class Successor(Recommender):
    """Scores the item after the user's last given item first, and items of the history next."""

    name = "successor"

    def _fit(self, train, *, valid, dataset):
        pass

    def _score(self, users, history):
        out = torch.zeros((len(users), history.n_items))
        for row, u in enumerate(users):
            seq = history.sequence(int(u))
            if len(seq) >= 3:  # with 3 items or more it knows the user's stride
                out[row, (seq[-1] + (seq[-1] - seq[-2])) % history.n_items] = 1.0
            elif len(seq):
                out[row, (seq[-1] + 1) % history.n_items] = 1.0
        return out


def _walks() -> tuple[Dataset, History, History]:
    """User u walks the catalogue with stride 1 + u % 2, 8 known items, then the next one."""
    rows = []
    for u in range(10):
        stride, start = 1 + u % 2, u
        for t in range(9):
            rows.append((f"u{u}", (start + t * stride) % 30, t))
    log = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    data = Dataset(interactions=log, item_ids=pd.Index(range(30), name="item"))
    last = data.interactions.groupby("user_idx").cumcount(ascending=False).to_numpy() == 0
    return data, data.subset(~last).history(), data.subset(last).history()


def test_truncated_keeps_the_last_items_of_the_users_asked():
    _, known, _ = _walks()
    short = truncated(known, np.array([0, 3]), 2)
    assert short.sequence(0).tolist() == known.sequence(0)[-2:].tolist()
    assert short.sequence(3).tolist() == known.sequence(3)[-2:].tolist()
    assert short.lengths().tolist() == [2, 0, 0, 2] + [0] * 6


def test_the_curve_scores_the_same_users_from_each_length():
    data, known, test = _walks()
    model = Successor().fit(data)
    curve = history_length_curve(model, known=known, test=test, lengths=(1, 3, 8), ks=(10,))
    assert curve["length"].tolist() == [1, 3, 8] and (curve["users"] == 10).all()
    # from 1 item it guesses stride 1 (right for even users); from 3 on it knows every stride
    assert curve["hit@10"].tolist() == pytest.approx([0.5, 1.0, 1.0])
    assert curve["ndcg@10"].tolist() == pytest.approx([0.5, 1.0, 1.0])


def test_models_without_history_scores_and_bad_lengths_are_named():
    data, known, test = _walks()
    with pytest.raises(ConfigError, match="bpr ranks a user by the vector"):
        history_length_curve(BPR(epochs=1).fit(data), known=known, test=test)
    model = Successor().fit(data)
    with pytest.raises(ConfigError, match="no test user has 20 known items"):
        history_length_curve(model, known=known, test=test, lengths=(1, 20))
    with pytest.raises(ConfigError, match="positive integers"):
        history_length_curve(model, known=known, test=test, lengths=(0, 2))
