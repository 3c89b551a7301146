"""Why an item is in a user's list: a saved run's recommendation explained.

``equirec explain RUN_DIR --user ID`` (and :func:`explain`) explains the user's first
recommendation, or ``--item``, as the run ranked it: the saved model, the run's known history
(training, then validation), the same items excluded. The explanation names past items by
title and says it in words; see :mod:`equirec.explain` for the methods.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.data._tables import plain
from equirec.errors import ConfigError
from equirec.explain.explanation import ItemExplanation, default_method, explain_item
from equirec.explain.methods import METHODS
from equirec.explain.words import describe
from equirec.fairness.groups import item_labels
from equirec.io import atomic_write_text
from equirec.workflows.group_gaps import user_group_gaps
from equirec.workflows.rundir import RunFolder, open_run

__all__ = [
    "EXPLANATIONS_CSV",
    "EXPLANATIONS_GAPS_CSV",
    "Case",
    "Explainer",
    "Explanation",
    "ExplanationQuality",
    "explain",
    "explain_users",
    "explanation_text",
]

EXPLANATIONS_CSV = "explanations.csv"
EXPLANATIONS_GAPS_CSV = "explanations_gaps.csv"

CONTENT_KINDS = ("categorical", "multi")
"""Attribute kinds whose shared labels an explanation names."""


@dataclass(frozen=True)
class Explanation:
    """One recommendation explained, in original ids.

    Attributes:
        user: The user's id.
        item: The explained item's id.
        title: Its title (``None`` without titles).
        rank: Its 1-based rank in the user's list.
        k: The list length.
        model: The model's name.
        method: The method used.
        text: The explanation in words.
        reasons: The past items named: ``item``, ``title``, ``position`` (0 = oldest of the
            history), ``effect`` and ``removed`` (in the counterfactual set).
        valid: Whether removing the counterfactual set takes the item out of the list
            (``None`` for attributions).
        rank_after: The item's 1-based rank without the counterfactual set.
    """

    user: Any
    item: Any
    title: str | None
    rank: int
    k: int
    model: str
    method: str
    text: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    valid: bool | None = None
    rank_after: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ids as the data spells them)."""
        return {
            "user": plain(self.user),
            "item": plain(self.item),
            "title": self.title,
            "rank": self.rank,
            "k": self.k,
            "model": self.model,
            "method": self.method,
            "valid": self.valid,
            "rank_after": self.rank_after,
            "text": self.text,
            "reasons": [{**r, "item": plain(r["item"])} for r in self.reasons],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per past item named, with the explained item's columns repeated."""
        head = {k: v for k, v in self.to_dict().items() if k not in ("reasons", "text")}
        rows = [{**head, **{f"reason_{k}": v for k, v in r.items()}} for r in self.reasons]
        return pd.DataFrame(rows or [head])


@dataclass(frozen=True)
class Case:
    """One recommendation to explain, in internal indices.

    Attributes:
        user: The user.
        item: The recommended item.
        history: The user's known history (training, then validation), chronological.
        excluded: Items left out of the user's ranking (the history's and the run's others).
    """

    user: int
    item: int
    history: np.ndarray
    excluded: np.ndarray


class Explainer:
    """Explanations of one run folder's lists (the run opened once, for many requests).

    Args:
        run: A run folder (or its path) with a saved model.
    """

    def __init__(self, run: RunFolder | str | Path) -> None:
        self.folder = run if isinstance(run, RunFolder) else open_run(run)
        self.model = self.folder.model
        dataset = self.folder.dataset
        self._titles = dataset.item_titles()
        self._labels = self._content_labels()
        self.verb = "watched" if _is_movies(dataset.name) else "interacted with"

    def explain(
        self,
        *,
        user: Any,
        item: Any = None,
        k: int = 10,
        method: str | None = None,
        top: int = 5,
        max_size: int = 10,
        beam: int = 4,
        pool: int = 20,
        steps: int = 32,
    ) -> Explanation:
        """See :func:`explain`."""
        model = self.model
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"explain: k must be a positive integer (the list length), not {k!r}")
        method = default_method(model) if method is None else method
        if method not in METHODS:
            raise ConfigError(f"explain: unknown method {method!r}; choose one of {METHODS}")
        case = self.case(user=user, item=item, k=k)
        found = explain_item(
            model,
            case.history,
            case.item,
            k=k,
            excluded=case.excluded,
            method=method,
            user=case.user,
            top=top,
            max_size=max_size,
            beam=beam,
            pool=pool,
            steps=steps,
        )
        return self._result(user, found)

    def case(self, *, user: Any, item: Any = None, k: int = 10) -> Case:
        """What explaining ``item`` (default: the first) of ``user``'s top ``k`` starts from.

        Raises:
            ConfigError: An unknown user or item, or an item not in the list.
        """
        folder = self.folder
        (u,), unknown = folder.positions([user], what="user")
        if unknown:
            raise ConfigError(f"explain: unknown user {user!r}: the run has no such user id")
        listed, _ = self.model.topk(
            np.array([u]),
            k=k,
            history=folder.known.history,
            exclude=folder.known.exclude,
            exclude_seen=True,
        )
        listed = listed[0][listed[0] >= 0]
        if not len(listed):
            raise ConfigError(f"explain: user {user!r} has an empty list: every item is known")
        if item is None:
            target = int(listed[0])
        else:
            (target,), unknown = folder.positions([item], what="item")
            if unknown:
                raise ConfigError(f"explain: unknown item {item!r}: not in the run's catalogue")
            if target not in set(listed.tolist()):
                ids = folder.dataset.item_ids
                shown = ", ".join(str(plain(ids[i])) for i in listed)
                raise ConfigError(
                    f"explain: item {item!r} is not in the top {k} of user {user!r} ({shown}); "
                    "explain an item of the list, or raise --k"
                )
        history = folder.known.history.sequence(int(u))
        excluded = np.unique(
            np.concatenate([history, *(p.sequence(int(u)) for p in folder.known.exclude)])
        )
        return Case(user=int(u), item=target, history=history, excluded=excluded)

    def _result(self, user: Any, found: ItemExplanation) -> Explanation:
        ids = self.folder.dataset.item_ids
        popularity = None
        if found.popular:
            n = int(self.folder.known.popularity[found.item])
            popularity = f"{n:,} known interactions"
        text = describe(
            found,
            name=self._name,
            shared=self._shared,
            verb=self.verb,
            model=self.model.name,
            popularity=popularity,
        )
        cf = found.counterfactual
        return Explanation(
            user=user,
            item=ids[found.item],
            title=self._titles[found.item],
            rank=found.rank + 1,
            k=found.k,
            model=self.model.name,
            method=found.method,
            text=text,
            reasons=[
                {
                    "item": ids[r.item],
                    "title": self._titles[r.item],
                    "position": r.position,
                    "effect": r.effect,
                    "removed": r.removed,
                }
                for r in found.reasons
            ],
            valid=None if cf is None else cf.valid,
            rank_after=None if cf is None else cf.rank_after + 1,
        )

    def _name(self, item: int) -> str:
        title = self._titles[item]
        return title if title else f"item {plain(self.folder.dataset.item_ids[item])}"

    def _content_labels(self) -> list[list[set[str]]]:
        """Per categorical or multi-valued content attribute the model uses, each item's labels."""
        attributes = getattr(self.model, "content_attributes", ()) or ()
        dataset = self.folder.dataset
        table, kinds = dataset.item_attributes, dataset.item_attribute_kinds
        out = []
        for attribute in attributes:
            if table is None or kinds.get(attribute) not in CONTENT_KINDS:
                continue
            values = table[attribute].tolist()
            out.append([set(item_labels(v)) for v in values])
        return out

    def _shared(self, item: int, others: Sequence[int]) -> list[str]:
        """The item's content labels found among ``others``', most shared first."""
        counts: dict[str, int] = {}
        for labels in self._labels:
            for label in sorted(labels[item]):
                n = sum(label in labels[o] for o in others)
                if n:
                    counts[label] = n
        return sorted(counts, key=lambda label: -counts[label])


def explain(
    run: RunFolder | str | Path,
    *,
    user: Any,
    item: Any = None,
    k: int = 10,
    method: str | None = None,
    top: int = 5,
    max_size: int = 10,
    beam: int = 4,
    pool: int = 20,
    steps: int = 32,
) -> Explanation:
    """Explain why a run's model put an item in a user's top ``k``.

    Args:
        run: A run folder (or its path) with a saved model.
        user: The user's id.
        item: An item of the user's list (default: the first).
        k: The list length.
        method: ``counterfactual`` (the fewest past items whose removal takes the item out
            of the top ``k``; the default for models that score from the history), ``loo``,
            ``ig``, ``attention`` (sequence models) or ``model`` (a baseline's own weights: the
            default for BPR and popularity); see :mod:`equirec.explain`.
        top: Past items an attribution names.
        max_size: The largest counterfactual set tried.
        beam: Removal sets the counterfactual search keeps per size.
        pool: Past items the search adds from (those whose single removal matters most).
        steps: Integral steps of ``ig``.

    Raises:
        ConfigError: An unknown user or method, an item not in the list, or a method the model
            does not support.
    """
    return Explainer(run).explain(
        user=user,
        item=item,
        k=k,
        method=method,
        top=top,
        max_size=max_size,
        beam=beam,
        pool=pool,
        steps=steps,
    )


@dataclass(frozen=True)
class ExplanationQuality:
    """Every user's first recommendation explained, and who gets the worse explanations.

    Attributes:
        per_user: One row per user: ``user`` (id), ``item``, ``method``, ``valid``
            (counterfactual: its removal takes the item out of the list), ``size`` (past items
            named), ``reasons`` (their ids, space-separated), ``rank_after``, ``history``
            (known items), ``seconds``; ``note`` says why a user could not be explained.
        gaps: Per attribute and metric (``valid``, ``size``): the gap between the groups'
            means, its simultaneous interval, the permutation p-value and each group's mean
            (the audit's test); empty without attributes.
    """

    per_user: pd.DataFrame
    gaps: pd.DataFrame


def explain_users(
    run: RunFolder | str | Path,
    *,
    users: Sequence[Any] | None = None,
    k: int = 10,
    method: str | None = None,
    attributes: Sequence[str] = (),
    max_size: int = 10,
    write: bool = True,
) -> ExplanationQuality:
    """Explain the first recommendation of many users and compare the groups of ``attributes``.

    Args:
        run: A run folder with a saved model (or an opened one).
        users: User ids (default: the run's test users, in its order).
        k: The list length.
        method: As :func:`explain`.
        attributes: Categorical user attributes whose groups are compared (validity and size).
        max_size: The largest counterfactual set tried.
        write: Write ``explanations.csv`` (and ``explanations_gaps.csv``) into the run folder,
            replacing earlier ones.
    """
    explainer = Explainer(run)
    folder = explainer.folder
    if users is None:
        users = list(pd.unique(folder.recommendations["user"]))
    lengths = folder.known.history.lengths()[folder.positions(users, what="user")[0]]
    rows = []
    for n, user in enumerate(users):
        start = time.perf_counter()
        try:
            found = explainer.explain(user=user, k=k, method=method, max_size=max_size)
        except ConfigError as exc:  # this user only (e.g. an empty list): said, not fatal
            rows.append({"user": plain(user), "history": int(lengths[n]), "note": str(exc)})
            continue
        rows.append(
            {
                "user": plain(user),
                "item": plain(found.item),
                "method": found.method,
                "valid": found.valid,
                "size": len(found.reasons),
                "reasons": " ".join(str(plain(r["item"])) for r in found.reasons),
                "rank_after": found.rank_after,
                "history": int(lengths[n]),
                "seconds": time.perf_counter() - start,
            }
        )
    per_user = pd.DataFrame(rows)
    explained = per_user[per_user["method"].notna()] if "method" in per_user else per_user
    index, _ = folder.positions(explained["user"], what="user")
    numeric = explained.assign(user=index, valid=explained["valid"].astype(float))
    metrics = ["valid", "size"] if explained["valid"].notna().all() else ["size"]
    gaps = user_group_gaps(folder, numeric, attributes, metrics=metrics, command="explain")
    if write:
        atomic_write_text(folder.path / EXPLANATIONS_CSV, per_user.to_csv(index=False))
        if len(gaps):
            atomic_write_text(folder.path / EXPLANATIONS_GAPS_CSV, gaps.to_csv(index=False))
    return ExplanationQuality(per_user=per_user, gaps=gaps)


def explanation_text(explanation: Explanation, fmt: str) -> str:
    """``explanation`` as ``text`` (the sentence and the items named), ``json`` or ``csv``.

    Raises:
        ConfigError: Another format.
    """
    if fmt == "json":
        return explanation.to_json() + "\n"
    if fmt == "csv":
        return str(explanation.to_frame().to_csv(index=False))
    if fmt != "text":
        raise ConfigError(f"explain: format must be text, json or csv, not {fmt!r}")
    head = explanation.title or f"item {plain(explanation.item)}"
    lines = [
        f"#{explanation.rank} for user {plain(explanation.user)}: {head} "
        f"({explanation.model}, {explanation.method})",
        explanation.text,
    ]
    for r in explanation.reasons:
        name = r["title"] or f"item {plain(r['item'])}"
        mark = " (removed)" if r["removed"] else ""
        lines.append(f"  {r['effect']:+.4f}  {name}{mark}")
    return "\n".join(lines) + "\n"


def _is_movies(name: str) -> bool:
    return name.lower().startswith(("ml-", "movielens"))
