"""Data: the Dataset, its sources, preprocessing and splits."""

from equirec.data.dataset import AttributeKind, Dataset
from equirec.data.history import History

__all__ = ["AttributeKind", "Dataset", "History"]
