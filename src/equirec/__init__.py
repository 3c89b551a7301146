"""equirec: recommender systems whose fairness is measured and mitigated, not assumed."""

from equirec.data import Dataset, History
from equirec.errors import ConfigError, DataError, EquirecError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "Dataset", "EquirecError", "History", "__version__"]
