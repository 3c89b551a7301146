"""Recommendations from a saved run: for the users it knows, and for new users or sessions.

One call, :func:`recommend`, serves the command line (``equirec recommend``) and Python:

- **Known users** are ranked from what the run knew before the test (training, then validation),
  their known items excluded, exactly as the run ranked them: ``recommend(run, all_users=True,
  k=10)`` equals the top 10 of ``recommendations.csv``.
- **New users or sessions** are ranked from a history given as item ids. Sequence models
  (SASRec, BERT4Rec) and the item-based models (EASE, item-kNN) score the given items directly;
  a model with fixed user embeddings (BPR) cannot score a user it was not trained on, and an
  empty history gives nothing to score from: those users get the most popular items of the
  run's known interactions instead, and a note says so. The given items are excluded.
- A **policy** (a re-ranker and its parameters, ``"fair"`` with ``p = 0.4``...) re-ranks each
  known user's top ``depth`` to ``k``; a re-ranker with a guarantee gets deeper candidates
  where it needs them (:func:`~equirec.workflows.rerank.guaranteed_rerank`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.data._tables import read_table
from equirec.data.history import History
from equirec.data.lists import RankedLists
from equirec.errors import ConfigError, DataError
from equirec.io import atomic_write_text, check_new
from equirec.workflows.rerank import DeeperCandidates, Guarantee, guaranteed_rerank
from equirec.workflows.rundir import RunFolder, open_run

log = logging.getLogger(__name__)

__all__ = [
    "Recommendations",
    "rank_histories",
    "rank_known",
    "read_history",
    "read_users",
    "recommend",
    "write_recommendations",
]

DEFAULT_DEPTH = 100
"""Candidates per user that a policy re-ranks (deeper where a guarantee needs it)."""

FULL_RANKING_CELLS = 1 << 22
"""Users x items up to which a policy's users are ranked over the whole catalogue at once."""


@dataclass(frozen=True)
class Recommendations:
    """Ranked lists in original ids, with what was decided on the way.

    Attributes:
        frame: ``user, rank, item, score`` (rank 1-based), users in the order asked.
        notes: Plain-language notes (a fallback to popularity, a policy's unmet guarantee...).
        policy: The re-ranker and its parameters, or ``None``.
    """

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    policy: dict[str, Any] | None = None


def recommend(
    run: RunFolder | str | Path,
    *,
    users: Iterable[Any] | None = None,
    all_users: bool = False,
    histories: Mapping[Any, Sequence[Any]] | pd.DataFrame | None = None,
    k: int = 10,
    policy: str | None = None,
    params: Mapping[str, Any] | None = None,
    depth: int = DEFAULT_DEPTH,
) -> Recommendations:
    """Top ``k`` recommendations of a saved run, for known users or from given histories.

    Args:
        run: A run folder written by ``equirec run`` (or an opened :class:`RunFolder`).
        users: Original ids of users the run knows.
        all_users: Every user of the run's vocabulary, in its order.
        histories: New users or sessions: ``{user: [item, ...]}`` (oldest first) or a table with
            ``user`` and ``item`` columns (and ``timestamp``, used to order them when present).
            The ids are free (a known id with a history is ranked as a new session).
        k: List length.
        policy: A re-ranker (``equirec methods`` lists them; ``"calibrated+fair"`` chains
            them), applied to the top ``depth`` of each known user.
        params: The policy's parameters.
        depth: Candidates per user that the policy re-ranks.

    Returns:
        The :class:`Recommendations`.

    Raises:
        ConfigError: Not exactly one of ``users``, ``all_users`` and ``histories``; ``k`` or
            ``depth`` not a positive integer; an unknown policy or parameter; a policy for
            given histories.
        DataError: A user or item id the run does not know, or a run without a saved model.
    """
    folder = run if isinstance(run, RunFolder) else open_run(run)
    chosen = sum([users is not None, bool(all_users), histories is not None])
    if chosen != 1:
        raise ConfigError(
            "recommend: give exactly one of users (ids the run knows), all_users=True, or "
            "histories (new users or sessions)"
        )
    for name, value in (("k", k), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"recommend: {name} must be a positive integer, got {value!r}")
    record = None if policy is None else {"method": policy, "params": dict(params or {})}
    if histories is not None:
        if policy is not None:
            raise ConfigError(
                "recommend: a policy re-ranks the lists of users the run knows; for given "
                "histories ask without one"
            )
        lists, notes = rank_histories(folder, histories, k=k)
        return Recommendations(frame=lists.to_frame(), notes=notes, policy=record)
    idx = np.arange(folder.dataset.n_users) if all_users else _known_users(folder, users or [])
    lists, guarantee = rank_known(folder, idx, k=k, policy=policy, params=params, depth=depth)
    notes = []
    if guarantee is not None and guarantee.met < guarantee.lists:
        notes.append(
            f"{policy}: {guarantee.lists - guarantee.met} of {guarantee.lists} list(s) do not "
            f"keep its guarantee ({guarantee.guarantee}); `equirec rerank` writes why per list"
        )
    for text in notes:
        log.warning(text)
    return Recommendations(frame=lists.to_frame(), notes=notes, policy=record)


def rank_known(
    folder: RunFolder,
    users: np.ndarray,
    *,
    k: int,
    policy: str | None = None,
    params: Mapping[str, Any] | None = None,
    depth: int = DEFAULT_DEPTH,
) -> tuple[RankedLists, Guarantee | None]:
    """The lists of :func:`recommend` for known users given by internal index, before they
    become a frame: what the service answers from (see :func:`recommend` for the arguments).

    Returns:
        ``(lists, guarantee)``: one list per user, in order, and the policy's per-list
        :class:`~equirec.workflows.rerank.Guarantee` (``None`` without a policy, or for a
        re-ranker without one).
    """
    if policy is None:
        return folder.rank(users, k=k), None
    width = max(k, depth)
    n_items = folder.dataset.n_items
    if len(users) * n_items > FULL_RANKING_CELLS:
        candidates = folder.rank(users, k=width)
        return guaranteed_rerank(folder, candidates, method=policy, params=params, k=k)
    # Every unseen item ranked once (the model sorts them all anyway): deeper candidates, where
    # a guarantee needs them, are then cut from it instead of scored again.
    ranked = folder.rank(users, k=n_items)
    return guaranteed_rerank(
        folder,
        ranked.head(width),
        method=policy,
        params=params,
        k=k,
        deeper=DeeperCandidates(folder, ranked=ranked),
    )


def _known_users(folder: RunFolder, users: Iterable[Any]) -> np.ndarray:
    ids = list(users)
    if not ids:
        raise ConfigError("recommend: users is empty; give at least one user id")
    idx, missing = folder.positions(ids, what="user")
    if missing:
        shown = ", ".join(repr(u) for u in missing[:5])
        raise DataError(
            f"recommend: {len(missing)} user id(s) the run does not know: {shown}"
            f"{' ...' if len(missing) > 5 else ''}; give their history instead (--history) to "
            "rank them as new users"
        )
    return idx


def _history_table(histories: Mapping[Any, Sequence[Any]] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(histories, pd.DataFrame):
        missing = [c for c in ("user", "item") if c not in histories.columns]
        if missing:
            raise DataError(
                f"recommend: the history table lacks column(s) {missing}; it has "
                f"{list(histories.columns)}; give user, item (and optionally timestamp) columns"
            )
        table = histories
        if "timestamp" in table.columns:
            table = table.sort_values("timestamp", kind="stable")
        return table[["user", "item"]].reset_index(drop=True)
    rows = [(u, i) for u, items in histories.items() for i in items]
    return pd.DataFrame(rows, columns=["user", "item"])


def rank_histories(
    folder: RunFolder, histories: Mapping[Any, Sequence[Any]] | pd.DataFrame, *, k: int
) -> tuple[RankedLists, list[str]]:
    """The lists of :func:`recommend` for given histories, before they become a frame (see
    :func:`recommend` for the arguments; the lists' users are the histories' keys, in order).

    Returns:
        ``(lists, notes)``.
    """
    table = _history_table(histories)
    order = list(
        dict.fromkeys(histories)
        if not isinstance(histories, pd.DataFrame)
        else pd.unique(table["user"])
    )
    if not order:
        raise ConfigError("recommend: histories is empty; give at least one user")
    items = folder.dataset.item_ids
    codes, unknown = folder.positions(table["item"], what="item")
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:5])
        raise DataError(
            f"recommend: {len(unknown)} item id(s) the run does not know: {shown}"
            f"{' ...' if len(unknown) > 5 else ''}; a history can only hold catalogue items"
        )
    # Sessions are users beyond the run's vocabulary: nothing the model learned about a known
    # user (a vector, user features) is read for them.
    offset = folder.dataset.n_users
    row_of = {u: offset + r for r, u in enumerate(order)}
    history = History.from_arrays(
        users=np.array([row_of[u] for u in table["user"]], dtype=np.int64),
        items=codes.astype(np.int64),
        n_users=offset + len(order),
        n_items=len(items),
    )
    model = folder.model
    lengths = history.lengths()[offset:]
    scorable = lengths > 0 if model.scores_from_history else np.zeros(len(order), dtype=bool)
    out_items = np.full((len(order), min(k, len(items))), -1, dtype=np.int64)
    out_scores = np.full(out_items.shape, np.nan)
    if scorable.any():
        rows = np.flatnonzero(scorable)
        got_items, got_scores = model.topk(rows + offset, k=k, history=history, exclude_seen=True)
        out_items[rows] = got_items
        out_scores[rows] = np.where(got_items >= 0, got_scores, np.nan)
    notes: list[str] = []
    fallback = np.flatnonzero(~scorable)
    if len(fallback):
        popularity = folder.known.popularity
        ranked = np.argsort(-popularity, kind="stable")
        for r in fallback:
            seen = set(history.sequence(offset + int(r)).tolist())
            top = [int(i) for i in ranked if int(i) not in seen][: out_items.shape[1]]
            out_items[r, : len(top)] = top
            out_scores[r, : len(top)] = popularity[top]
        why = (
            f"{model.name} cannot score a user it was not trained on"
            if not model.scores_from_history
            else "an empty history gives nothing to score from"
        )
        notes.append(f"{len(fallback)} user(s) ranked by popularity (known interactions): {why}")
    for text in notes:
        log.warning(text)
    lists = RankedLists(
        items=out_items,
        scores=out_scores,
        users=np.arange(len(order), dtype=np.int64),
        user_ids=pd.Index(order, name="user"),
        item_ids=items,
    )
    return lists, notes


def read_users(path: str | Path) -> list[str]:
    """User ids from a file: one per line (an optional ``user`` header), or a CSV/Parquet table
    with a ``user`` column.

    Raises:
        DataError: The file is missing or unreadable, or a table has no ``user`` column.
    """
    file = Path(path)
    if file.suffix in (".parquet", ".pq") or _is_table(file):
        table, _ = read_table(
            file, sep=None, encoding="utf-8", dtype={"user": str}, what="users file"
        )
        if "user" not in table.columns:
            raise DataError(
                f"users file {file}: no 'user' column among {list(table.columns)}; give one id "
                "per line or a table with a user column"
            )
        return [str(u) for u in table["user"].dropna()]
    lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
    ids = [line for line in lines if line]
    return ids[1:] if ids and ids[0] == "user" else ids


def _is_table(file: Path) -> bool:
    if not file.is_file():
        raise DataError(f"users file {file} does not exist; check the path")
    with file.open(encoding="utf-8", errors="replace") as fh:
        head = fh.readline()
    return any(sep in head for sep in (",", "\t", ";", "|"))


def read_history(path: str | Path) -> pd.DataFrame:
    """A history table (``user, item`` and optionally ``timestamp`` rows) from CSV or Parquet."""
    table, _ = read_table(
        path, sep=None, encoding="utf-8", dtype={"user": str, "item": str}, what="history file"
    )
    return table


FORMATS = (".csv", ".jsonl", ".parquet")
"""Output formats of :func:`write_recommendations`, by file suffix."""


def write_recommendations(frame: pd.DataFrame, path: str | Path, *, overwrite: bool) -> Path:
    """Write ``frame`` atomically as CSV, JSON lines or Parquet (by ``path``'s suffix).

    Raises:
        ConfigError: Another suffix.
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
    """
    out = Path(path)
    if out.suffix not in FORMATS:
        raise ConfigError(
            f"--out {out}: write .csv, .jsonl or .parquet (the format follows the suffix)"
        )
    if out.exists() and not overwrite:
        check_new(out, overwrite=False)
    if out.suffix == ".csv":
        return atomic_write_text(out, frame.to_csv(index=False))
    if out.suffix == ".jsonl":
        return atomic_write_text(
            out, frame.to_json(orient="records", lines=True).rstrip("\n") + "\n"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    except ImportError as err:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(
            f"--out {out}: Parquet needs pyarrow: pip install 'equirec[parquet]' ({err})"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
