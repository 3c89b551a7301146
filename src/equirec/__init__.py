"""equirec: recommender systems whose fairness is measured and mitigated, not assumed."""

from equirec.config import RunConfig
from equirec.data import Dataset, History
from equirec.errors import ConfigError, DataError, EquirecError
from equirec.runner import RunResult, run

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "Dataset",
    "EquirecError",
    "History",
    "RunConfig",
    "RunResult",
    "__version__",
    "run",
]
