"""Data: the Dataset, its sources, preprocessing and splits."""

from equirec.data.dataset import AttributeKind, Dataset
from equirec.data.download import download_movielens
from equirec.data.filtering import preprocess
from equirec.data.history import History
from equirec.data.interactions import load_interactions
from equirec.data.sources import available_datasets, load_dataset
from equirec.data.splits import Split, split_dataset
from equirec.data.synthetic import make_synthetic

__all__ = [
    "AttributeKind",
    "Dataset",
    "History",
    "Split",
    "available_datasets",
    "download_movielens",
    "load_dataset",
    "load_interactions",
    "make_synthetic",
    "preprocess",
    "split_dataset",
]
