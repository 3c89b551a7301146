"""Audit a run folder: its lists, held-out items and known history, and its model's user vectors.

:func:`audit_run` writes ``audit.json``, ``audit.html`` and ``item_exposure.csv`` (every catalogue
item's exposure, lists, known popularity and groups) into the run folder, each atomically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import DataError
from equirec.fairness.audit import AuditResult, audit
from equirec.fairness.inputs import AuditData
from equirec.fairness.items import item_exposure_table
from equirec.fairness.membership import attack_entry, membership_section
from equirec.fairness.schema import AuditReport
from equirec.fairness.shadow import shadow_attack
from equirec.io import atomic_write_text, jsonable
from equirec.workflows.rundir import RunFolder, open_run, write_audit

__all__ = [
    "ITEM_EXPOSURE_CSV",
    "audit_options",
    "audit_run",
    "item_exposure",
    "privacy_section",
]

ITEM_EXPOSURE_CSV = "item_exposure.csv"
"""Every catalogue item's exposure in the audited lists, written beside ``audit.json``."""

log = logging.getLogger(__name__)


def audit_run(
    run_dir: str | Path,
    *,
    write: bool = True,
    probe_model: bool = True,
    shadows: int = 0,
    **options: Any,
) -> AuditResult:
    """Audit the run in ``run_dir``; write ``audit.json``, ``audit.html`` and
    ``item_exposure.csv`` into it.

    Args:
        run_dir: A folder written by ``equirec run`` (or ``equirec rerank``).
        write: Write the three files (each atomically; see :func:`item_exposure` for the CSV).
        probe_model: Probe the saved model's user representations for leakage (models that
            have them: SASRec, BERT4Rec, BPR).
        shadows: Shadow models of the shadow membership attack (0: the rank attack only);
            each retrains the run's model, so it costs what training did.
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
    privacy, why = privacy_section(run, shadows=shadows, params=result.report["params"])
    result.report["privacy"] = privacy
    if why:
        result.report["warnings"].append(why)
    AuditReport.model_validate(jsonable(result.report))  # audit.json stays an AuditReport
    result.report["params"]["audit_seconds"] = time.perf_counter() - t0
    if missing:
        result.report["warnings"].append(missing)
    if write:
        table = item_exposure(data, result.report)
        atomic_write_text(run.path / ITEM_EXPOSURE_CSV, table.to_csv(index=False))
        write_audit(run.path, result.report)
    return result


def privacy_section(
    run: RunFolder, *, shadows: int, params: dict[str, Any]
) -> tuple[dict[str, Any] | None, str | None]:
    """The audit's ``privacy`` section: membership inference against the run's model, its
    training users (members) against the users its split held out (``split.holdout_users``).

    Returns:
        The section (``None`` when it cannot be measured) and, when a shadow attack was asked
        for but could not run, why (a warning of the report).
    """
    holdout = run.split.holdout
    why = None
    if holdout is None or not len(holdout) or not run.has_model:
        if shadows:
            why = (
                "no shadow attack: it needs a saved model and users held out of training "
                "(set split.holdout_users in the run's config)"
            )
        return None, why
    model = run.model
    if not model.scores_from_history:
        return None, f"no membership attack: {model.name} does not score from a history"
    train = run.split.train
    n_boot, confidence = int(params.get("n_boot", 1000)), float(params.get("confidence", 0.95))
    section = membership_section(
        model,
        train,
        holdout,
        n_boot=n_boot,
        confidence=confidence,
        rng=np.random.default_rng([int(params.get("seed", 0)), 0x3E3B]),
    )
    if shadows:
        log.info("membership: training %d shadow model(s) of %s", shadows, model.name)
        got = shadow_attack(
            model,
            train,
            holdout,
            shadows=shadows,
            n_boot=n_boot,
            confidence=confidence,
            seed=int(params.get("seed", 0)),
        )
        section["shadow"] = attack_entry(got.target) | {
            "shadow_auc": got.shadow_auc,
            "shadows": got.shadows,
            "shadow_epochs": got.shadow_epochs,
            "population": got.population,
        }
    return section, why


def item_exposure(data: AuditData, report: dict[str, Any]) -> pd.DataFrame:
    """``item_exposure.csv``: one row per catalogue item, measured as the audit ``report`` did.

    Columns: ``item``, ``title`` (when the dataset has titles), ``exposure``, ``exposure_share``,
    ``lists`` (lists whose top k hold the item), ``known_interactions`` (its popularity: its
    interactions in the history the lists were made from, ``params.test_history``),
    ``popularity_group`` (``head``/``tail``), then the item attributes the audit grouped by (a
    multi-valued one such as genres as ``"Action|Drama"``); see
    :func:`~equirec.fairness.items.item_exposure_table`.
    """
    p = report["params"]
    return item_exposure_table(
        data,
        k=int(p["k"]),
        attention=str(p["attention"]),
        patience=float(p["patience"]) if p.get("patience") is not None else 0.8,
        head=str(p["head"]["method"]),
        head_cutoff=float(p["head"]["cutoff"]),
        attributes=[a for a in report["items"]["groups"] if a != "popularity"],
    )


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
