"""Workflows: the jobs a user runs, on top of every other layer.

``run`` (train, evaluate, write a run folder), ``audit`` (a run folder's fairness audit),
``rerank`` (re-rank a run's lists), ``sweep`` (trade-off grids) and ``recommend`` (a saved run's
lists for known users, new users and sessions), all reading and writing run
folders through :mod:`equirec.workflows.rundir`; the run configuration is
:mod:`equirec.workflows.config`. Nothing below this layer imports it.
"""

from __future__ import annotations

from equirec._lazy import lazy_exports

__all__ = [
    "RunConfig",
    "RunFolder",
    "RunResult",
    "audit_run",
    "open_run",
    "recommend",
    "rerank_run",
    "sweep_run",
]

_LAZY = {
    "RunConfig": "equirec.workflows.config",
    "RunFolder": "equirec.workflows.rundir",
    "open_run": "equirec.workflows.rundir",
    "RunResult": "equirec.workflows.run",
    "audit_run": "equirec.workflows.audit",
    "recommend": "equirec.workflows.recommend",
    "rerank_run": "equirec.workflows.rerank",
    "sweep_run": "equirec.workflows.sweep",
}


__getattr__ = lazy_exports(__name__, _LAZY)
