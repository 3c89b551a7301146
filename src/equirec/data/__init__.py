"""Data: the Dataset, its sources, filtering, splits and what is known before the test.

Names are imported on first use (``equirec datasets`` reads the registry without pandas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from equirec._lazy import lazy_exports

__all__ = [
    "AttributeKind",
    "Dataset",
    "History",
    "KnownData",
    "Split",
    "available_datasets",
    "download_movielens",
    "load_dataset",
    "load_interactions",
    "make_sequential",
    "make_synthetic",
    "preprocess",
    "split_dataset",
]

_LAZY = {
    "AttributeKind": "equirec.data.dataset",
    "Dataset": "equirec.data.dataset",
    "History": "equirec.data.history",
    "KnownData": "equirec.data.known",
    "Split": "equirec.data.splits",
    "available_datasets": "equirec.data.sources",
    "download_movielens": "equirec.data.download",
    "load_dataset": "equirec.data.sources",
    "load_interactions": "equirec.data.interactions",
    "make_sequential": "equirec.data.synthetic_sequences",
    "make_synthetic": "equirec.data.synthetic",
    "preprocess": "equirec.data.filtering",
    "split_dataset": "equirec.data.splits",
}

if TYPE_CHECKING:
    from equirec.data.dataset import AttributeKind, Dataset
    from equirec.data.download import download_movielens
    from equirec.data.filtering import preprocess
    from equirec.data.history import History
    from equirec.data.interactions import load_interactions
    from equirec.data.known import KnownData
    from equirec.data.sources import available_datasets, load_dataset
    from equirec.data.splits import Split, split_dataset
    from equirec.data.synthetic import make_synthetic
    from equirec.data.synthetic_sequences import make_sequential


__getattr__ = lazy_exports(__name__, _LAZY)
