"""equirec: recommender systems whose fairness is measured and mitigated, not assumed.

The names below are imported on first use, so ``import equirec`` (and ``equirec --help``) costs
no torch, scipy or scikit-learn import.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from equirec._lazy import lazy_exports
from equirec.errors import ConfigError, DataError, EquirecError

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())  # the program configures logging

__all__ = [
    "ConfigError",
    "DataError",
    "Dataset",
    "EquirecError",
    "History",
    "RunConfig",
    "RunFolder",
    "RunResult",
    "__version__",
    "open_run",
    "recommend",
    "run",
]

_LAZY = {
    "Dataset": "equirec.data.dataset",
    "History": "equirec.data.history",
    "RunConfig": "equirec.workflows.config",
    "RunFolder": "equirec.workflows.rundir",
    "open_run": "equirec.workflows.rundir",
    "RunResult": "equirec.workflows.run",
    "run": "equirec.workflows.run",
    "recommend": "equirec.workflows.recommend",
}

if TYPE_CHECKING:
    from equirec.data.dataset import Dataset
    from equirec.data.history import History
    from equirec.workflows.config import RunConfig
    from equirec.workflows.recommend import recommend
    from equirec.workflows.run import RunResult, run
    from equirec.workflows.rundir import RunFolder, open_run


__getattr__ = lazy_exports(__name__, _LAZY)
