"""Audit a run folder: its lists, held-out items and known history, and its model's user vectors."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from equirec.errors import DataError
from equirec.fairness.audit import AuditResult, audit
from equirec.fairness.inputs import AuditData
from equirec.workflows.rundir import open_run, write_audit

__all__ = ["audit_options", "audit_run"]

log = logging.getLogger(__name__)


def audit_run(
    run_dir: str | Path,
    *,
    write: bool = True,
    probe_model: bool = True,
    **options: Any,
) -> AuditResult:
    """Audit the run in ``run_dir``; write ``audit.json`` and ``audit.html`` into it.

    Args:
        run_dir: A folder written by ``equirec run`` (or ``equirec rerank``).
        write: Write the two files (atomically).
        probe_model: Probe the saved model's user representations for leakage (models that
            have them: SASRec, BERT4Rec, BPR).
        **options: Keyword arguments of :func:`~equirec.fairness.audit.audit` (``k``,
            ``attributes``, ``n_boot``...).

    Raises:
        DataError: Not a run folder, or a file in it missing or unreadable.
    """
    t0 = time.perf_counter()
    run = open_run(run_dir)
    data = AuditData.from_split(run.split, recommendations=run.recommendations, history=run.history)
    reps = run.user_representations() if probe_model and run.has_model else None
    missing = None
    if probe_model and not run.has_model:
        missing = (
            f"{run.path} holds no saved model (a re-ranked run has none), so the leakage of "
            "user representations is not measured: audit the run it came from for that"
        )
        log.warning(missing)
    context = {
        "run": str(run.path),
        "dataset": run.dataset.name,
        "model": run.saved.get("model", {}).get("name"),
        "split": run.split.name,
        "test_history": run.history,
    }
    result = audit(
        data, user_representations=reps, context=context | options.pop("context", {}), **options
    )
    result.report["params"]["audit_seconds"] = time.perf_counter() - t0
    if missing:
        result.report["warnings"].append(missing)
    if write:
        write_audit(run.path, result.report)
    return result


def audit_options(
    *,
    attributes: Sequence[str] | None = None,
    k: int | None = None,
    intersections: Sequence[str] = (),
    n_boot: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`audit` from command-line values (``None`` = default)."""
    out: dict[str, Any] = {}
    if attributes:
        out["attributes"] = list(attributes)
    if k is not None:
        out["k"] = k
    if intersections:
        pairs = []
        for text in intersections:
            a, sep, b = text.partition("*")
            if not sep or not a or not b:
                raise DataError(f"--intersect {text!r}: write two attributes as A*B (gender*age)")
            pairs.append((a, b))
        out["intersections"] = pairs
    if n_boot is not None:
        out["n_boot"] = n_boot
    if seed is not None:
        out["seed"] = seed
    return out
