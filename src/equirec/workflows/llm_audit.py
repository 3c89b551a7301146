"""Audit an LLM recommender on a dataset's catalogue: ``equirec llm-audit``.

:func:`llm_audit_run` builds FaiRLLM's requests from the dataset (anchors: its most popular
titles, or titles from a file; or users' histories, CFaiRLLM-style, each user's last item held
out for alignment), asks the provider through a response cache, matches the answers' titles to
the catalogue and writes ``llm_audit.json``, ``llm_audit.html`` and ``lists.csv`` (every title,
its item, its list) into the output folder's ``results/``, atomically.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError
from equirec.io import atomic_dir, check_new, jsonable
from equirec.llm.cache import ResponseCache
from equirec.llm.fairllm import SENSITIVE, Request, anchor_requests, fairllm_audit, history_requests
from equirec.llm.providers import Provider
from equirec.llm.titles import TitleMatcher

__all__ = ["attributes_from_specs", "dataset_requests", "llm_audit_run"]


def attributes_from_specs(specs: Sequence[str]) -> dict[str, dict[str, str]]:
    """Sensitive attributes from ``NAME`` (a default set: gender, age, occupation) or
    ``NAME=value:phrase,value:phrase`` (``gender=male:a male,female:a female``).

    Raises:
        ConfigError: An unknown default or a malformed value list.
    """
    if not specs:
        return {a: dict(v) for a, v in SENSITIVE.items()}
    out: dict[str, dict[str, str]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep:
            if name not in SENSITIVE:
                raise ConfigError(
                    f"--attribute {spec!r}: no default values for {name!r} (defaults: "
                    f"{sorted(SENSITIVE)}); write {name}=value:phrase,value:phrase"
                )
            out[name] = dict(SENSITIVE[name])
            continue
        pairs = {}
        for part in values.split(","):
            value, colon, phrase = part.partition(":")
            if not colon or not value.strip() or not phrase.strip():
                raise ConfigError(
                    f"--attribute {spec!r}: write each value as value:phrase "
                    "(gender=male:a male,female:a female)"
                )
            pairs[value.strip()] = phrase.strip()
        out[name] = pairs
    return out


def dataset_requests(
    dataset: Dataset,
    *,
    kind: str,
    n: int,
    k: int,
    attributes: Mapping[str, Mapping[str, str]],
    anchors: Sequence[str] | None = None,
    history: int = 10,
    seed: int = 0,
) -> list[Request]:
    """FaiRLLM's requests from a dataset.

    Args:
        dataset: It must have a ``title`` item attribute.
        kind: ``"anchors"`` (the ``n`` most interacted-with titles, or ``anchors``) or
            ``"history"`` (``n`` users drawn with ``seed``: their last ``history`` titles
            before their last interaction, which is held out for alignment).
        n: Requests.
        k: List length asked for.
        attributes: Attribute -> value -> phrase.
        anchors: Anchor names instead of the dataset's titles.
        history: Titles of a user's history in a prompt.
        seed: Draws the users.

    Raises:
        ConfigError: No titles, an unknown kind, or ``n`` below 1.
    """
    if n < 1:
        raise ConfigError(f"the number of requests must be at least 1, not {n}")
    titles = _titles(dataset)
    log = dataset.interactions
    if kind == "anchors":
        if anchors:
            return anchor_requests(list(anchors)[:n], k=k, attributes=attributes)
        popular = log["item"].value_counts().index
        names = [str(titles[i]) for i in popular if isinstance(titles.get(i), str)][:n]
        return anchor_requests(names, k=k, attributes=attributes)
    if kind != "history":
        raise ConfigError(f"requests must be 'anchors' or 'history', not {kind!r}")
    order = ["user", "timestamp"] if "timestamp" in log.columns else ["user"]
    ordered = log.sort_values(order, kind="stable")
    by_user = {u: list(g["item"]) for u, g in ordered.groupby("user", sort=True)}
    eligible = [u for u, items in by_user.items() if len(items) >= 2]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(eligible), size=min(n, len(eligible)), replace=False)
    histories: dict[Hashable, list[str]] = {}
    relevant: dict[Hashable, list[Hashable]] = {}
    for index in sorted(chosen):
        user = eligible[int(index)]
        items = by_user[user]
        histories[user] = [str(titles.get(i, i)) for i in items[:-1][-history:]]
        relevant[user] = [items[-1]]
    return history_requests(histories, relevant=relevant, k=k, attributes=attributes)


def _titles(dataset: Dataset) -> pd.Series:
    items = dataset.item_attributes
    if items is None or "title" not in items.columns:
        raise ConfigError(
            f"{dataset.name}: an LLM audit needs item titles (a 'title' item attribute) to "
            "ask about and to match the answers to; ml-100k and movielens-small have them"
        )
    return items["title"]


def llm_audit_run(
    provider: Provider,
    dataset: Dataset,
    *,
    out: str | Path | None,
    requests: str = "anchors",
    n_requests: int = 50,
    anchors: Sequence[str] | None = None,
    attributes: Mapping[str, Mapping[str, str]] = SENSITIVE,
    k: int = 20,
    cache: str | Path | None = None,
    n_boot: int = 1000,
    n_permutations: int = 1000,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Audit ``provider`` as a recommender of ``dataset``'s catalogue; write the results.

    Args:
        provider: What answers.
        dataset: The catalogue (titles) and, for history requests, the users' logs.
        out: Output folder (``None``: nothing written).
        requests: ``"anchors"`` or ``"history"`` (see :func:`dataset_requests`).
        n_requests: How many.
        anchors: Anchor names instead of the dataset's most popular titles.
        attributes: Attribute -> value -> phrase.
        k: List length.
        cache: The response cache file (default ``out/answers.sqlite``; in memory without
            ``out``); kept outside the atomically written results, so an interrupted audit
            resumes from it.
        n_boot: Bootstrap resamples.
        n_permutations: Permutations of each test.
        seed: Seeds the users drawn and the resampling.
        overwrite: Replace the results in ``out``.

    Raises:
        ConfigError: Bad settings, or a dataset without titles.
    """
    folder = None if out is None else Path(out)
    results = None if folder is None else folder / "results"
    if results is not None:
        check_new(results, overwrite=overwrite)
    built = dataset_requests(
        dataset,
        kind=requests,
        n=n_requests,
        k=k,
        attributes=attributes,
        anchors=anchors,
        seed=seed,
    )
    cache_path = (
        cache if cache is not None else (None if folder is None else folder / "answers.sqlite")
    )
    answers = ResponseCache(cache_path)
    try:
        report = fairllm_audit(
            provider,
            built,
            k=k,
            cache=answers,
            matcher=TitleMatcher(_titles(dataset).to_dict()),
            n_boot=n_boot,
            n_permutations=n_permutations,
            seed=seed,
        )
    finally:
        answers.close()
    report["params"] |= {
        "dataset": dataset.name,
        "requests_from": requests,
        "cache": str(cache_path),
    }
    if results is not None:
        from equirec.reporting.llm_audit import render_llm_audit

        lists = pd.DataFrame(report["lists"])
        summary = {k: v for k, v in report.items() if k != "lists"}
        with atomic_dir(results, overwrite=overwrite) as tmp:
            (tmp / "llm_audit.json").write_text(
                json.dumps(jsonable(summary), indent=2), encoding="utf-8"
            )
            lists.to_csv(tmp / "lists.csv", index=False)
            (tmp / "llm_audit.html").write_text(
                render_llm_audit(jsonable(summary)), encoding="utf-8"
            )
    return report
