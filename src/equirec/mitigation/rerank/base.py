"""The re-ranker base class, pipelines of re-rankers and the shared parameter checks.

A re-ranker reads :class:`Candidates` (every user's top-N candidate list from a model, best first,
in internal item indices) and returns an ``(n_lists, k)`` int64 array of item indices, ``-1``
padding a list that has fewer than ``k`` candidates. It only ever chooses among the candidates
of that list and never repeats an item. Every re-ranker derives from :class:`Reranker`, whose
``rerank`` makes the checks they all need once; :func:`compose` chains re-rankers. A re-ranker
that promises something checkable of every list (FA*IR, DetConstSort) implements
:meth:`Reranker.check_guarantee`; ``rerank`` leaves its result in ``guarantee_``.
:class:`Candidates` and its frame conversions (:func:`candidates_from_frame`,
:func:`lists_to_frame`) live in :mod:`equirec.mitigation.rerank.candidates` and are re-exported
here.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from equirec.errors import ConfigError
from equirec.mitigation.rerank.candidates import (
    Candidates,
    candidates_from_frame,
    lists_to_frame,
    minmax_per_list,
    relative_softmax_per_list,
)
from equirec.mitigation.rerank.guarantee import GuaranteeCheck

__all__ = [
    "Candidates",
    "GuaranteeCheck",
    "Pipeline",
    "Reranker",
    "candidates_from_frame",
    "check_k",
    "check_unit_interval",
    "compose",
    "lists_to_frame",
    "minmax_per_list",
    "relative_softmax_per_list",
]

_KEYWORD = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class Reranker(ABC):
    """Base class of the re-rankers: the checks every one needs, made once.

    A subclass sets :attr:`name`, stores its typed keyword-only constructor parameters as given
    (the registry derives the user-facing parameter model from that signature) and implements
    :meth:`_rerank`. The public :meth:`rerank` then, in this order:

    1. checks ``k`` (an integer >= 1, bools rejected) and that every side keyword is one that
       ``_rerank`` takes (plus ``seen`` where :attr:`checks_seen`);
    2. validates the parameters (:meth:`_check_params`, by default :meth:`_params`), so that a
       bad value raises :class:`~equirec.errors.ConfigError` naming it before any work;
    3. checks that every per-item array named in :attr:`item_arrays` covers the candidates'
       item indices (:class:`~equirec.errors.DataError` otherwise);
    4. where :attr:`checks_seen`, that no candidate is among its user's ``seen`` items;
    5. returns all ``-1`` for candidates without lists or slots (``n_lists == 0`` or
       ``width == 0``), without calling ``_rerank``;
    6. calls ``_rerank(candidates, k, **side)`` and returns its lists as an ``(n_lists, k)``
       int64 array, narrower lists padded with ``-1``;
    7. makes :attr:`guarantee_` :meth:`check_guarantee` of those lists (``None`` for a
       re-ranker that promises nothing checkable per list).

    Every subclass gets its own ``rerank`` whose signature (``help``, :class:`Pipeline`'s routing
    of side keywords) and docstring are those of its ``_rerank``, with ``k`` keyword-only.
    """

    name: ClassVar[str]
    """The re-ranker's name in the registry and on the command line."""
    joint: ClassVar[bool] = False
    """It chooses all lists together (a constraint on group means over users, or on exposure
    over all lists), so one list depends on which others are re-ranked with it; otherwise each
    list is re-ranked on its own."""
    item_arrays: ClassVar[Mapping[str, str]] = {}
    """Constructor parameters holding one entry per item index (along the first axis), with how
    messages call them, e.g. ``{"protected": "protected mask"}``."""
    checks_seen: ClassVar[bool] = False
    """``rerank`` takes ``seen=`` (the users' known items, users x items; optional) and rejects a
    candidate among them; ``seen`` is not passed on to ``_rerank``."""
    _side: ClassVar[frozenset[str] | None] = frozenset()
    """The side keywords ``rerank`` accepts (``None``: any), set from ``_rerank``'s signature."""
    _checked: tuple[np.ndarray, Candidates, int] | None = None

    @property
    def guarantee_(self) -> GuaranteeCheck | None:
        """After :meth:`rerank`: whether every list keeps the re-ranker's guarantee
        (:meth:`check_guarantee` of its last lists, checked when first read), or ``None``
        where it has none.

        Raises:
            AttributeError: :meth:`rerank` has not run yet.
        """
        if "_guarantee" not in self.__dict__:
            if self._checked is None:
                raise AttributeError(f"{type(self).__name__}.guarantee_: call rerank first")
            lists, candidates, k = self._checked
            self.__dict__["_guarantee"] = self.check_guarantee(lists, candidates, k=k)
        return self.__dict__["_guarantee"]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        impl = cls.__dict__.get("_rerank")
        if impl is None:
            return
        signature = _public_signature(impl, seen=cls.checks_seen, owner=cls.__name__)
        params = list(signature.parameters.values())[3:]  # after self, candidates, k
        cls._side = (
            None
            if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
            else frozenset(p.name for p in params)
        )
        if "rerank" not in cls.__dict__:
            # A function of the class's own, so that it can carry the class's signature.
            cls.rerank = _public_rerank(cls, impl, signature)  # type: ignore[method-assign]

    def rerank(self, candidates: Candidates, *, k: int, **side: Any) -> np.ndarray:
        """Re-rank every candidate list down to ``k`` items (see the class docstring).

        Args:
            candidates: The candidate lists, best first.
            k: Length of the output lists.
            **side: Side information of the re-ranker (``history=``, ``relevance=``...).

        Returns:
            ``(n_lists, k)`` int64 item indices, ``-1`` padding.
        """
        owner = type(self).__name__
        k = check_k(k)
        accepted = type(self)._side
        if accepted is not None and not set(side) <= accepted:
            raise TypeError(
                f"{owner}.rerank() got unexpected keyword argument(s) "
                f"{sorted(set(side) - accepted)}; it takes {sorted(accepted) or 'none'}"
            )
        self._check_params(candidates, k)
        for attr, what in self.item_arrays.items():
            candidates.check_items(int(np.shape(getattr(self, attr))[0]), what=what)
        seen = side.pop("seen", None) if self.checks_seen else None
        if seen is not None:
            candidates.check_unseen(seen, owner=owner)
        n = candidates.n_lists
        if n == 0 or candidates.width == 0:
            self._on_empty(n)
            lists = np.full((n, k), -1, dtype=np.int64)
        else:
            lists = _as_lists(self._rerank(candidates, k, **side), n, k, owner)
        # Checked when guarantee_ is read: callers that check with more facts (whether the
        # candidates were every unseen item) do not pay for it twice.
        self._checked = (lists, candidates, k)
        self.__dict__.pop("_guarantee", None)
        return lists

    def check_guarantee(
        self,
        lists: np.ndarray,
        candidates: Candidates,
        *,
        k: int,
        exhaustive: np.ndarray | bool | None = None,
    ) -> GuaranteeCheck | None:
        """Whether every list keeps this re-ranker's guarantee, and why not where it does not.

        The default promises nothing: ``None``. FA*IR and DetConstSort check their prefix
        minimums on ``lists`` (whoever built them) against the items ``candidates`` hold.

        Args:
            lists: ``(n_lists, k)`` item indices, ``-1`` padding (e.g. :meth:`rerank`'s output).
            candidates: The candidates the lists were chosen from (their order does not matter).
            k: The list length the guarantee is for.
            exhaustive: Per list (or for all), whether the candidates were every item its user
                could be recommended; the reasons then say so.

        Returns:
            A :class:`~equirec.mitigation.rerank.guarantee.GuaranteeCheck`, or ``None``.
        """
        return None

    @abstractmethod
    def _rerank(self, candidates: Candidates, k: int, *args: Any, **side: Any) -> np.ndarray:
        """The re-ranking itself, after the checks of :meth:`rerank`.

        A subclass declares the side keywords it takes as keyword-only parameters (with
        defaults); ``*args`` here only lets it choose them.

        Args:
            candidates: Validated candidate lists, at least one list and one slot.
            k: The output length, an int >= 1.
            *args: None are passed.
            **side: The side keywords given to :meth:`rerank`.

        Returns:
            ``(n_lists, k')`` integer item indices with ``k' <= k``, ``-1`` padding.
        """

    def _params(self) -> Any:
        """The validated parameter values, converted (default: ``None``, nothing to check).

        A bad value raises :class:`~equirec.errors.ConfigError` naming the parameter, the value
        and what is valid. :meth:`rerank` calls it (through :meth:`_check_params`) before any
        work; ``_rerank`` calls it again to read the values, which is cheap.
        """
        return None

    def _check_params(self, candidates: Candidates, k: int) -> None:
        """Raise :class:`~equirec.errors.ConfigError` naming an invalid parameter.

        The default validates through :meth:`_params`; override it for checks that need the
        candidates (a parameter given per list) or ``k``.

        Args:
            candidates: The candidate lists.
            k: The output length (already checked).
        """
        self._params()

    def _on_empty(self, n_lists: int) -> None:  # noqa: B027 (an optional hook)
        """Set the attributes a call leaves for candidates without any slot (default: none)."""

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as given."""
        names = inspect.signature(type(self).__init__).parameters
        return {p: getattr(self, p) for p in names if names[p].kind in _KEYWORD and p != "self"}


def _public_signature(impl: Callable[..., Any], *, seen: bool, owner: str) -> inspect.Signature:
    """``rerank``'s signature from ``_rerank(self, candidates, k, *, side...)``."""
    signature = inspect.signature(impl)
    params = list(signature.parameters.values())
    if len(params) < 3 or any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        raise TypeError(f"{owner}._rerank must take (self, candidates, k, *, side keywords...)")
    head = [params[0], params[1], params[2].replace(kind=inspect.Parameter.KEYWORD_ONLY)]
    rest = params[3:]
    if seen:
        if any(p.name == "seen" for p in rest):
            raise TypeError(f"{owner}: with checks_seen, _rerank must not take seen")
        extra = inspect.Parameter(
            "seen", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Any"
        )
        var = [p for p in rest if p.kind is inspect.Parameter.VAR_KEYWORD]
        rest = [p for p in rest if p.kind is not inspect.Parameter.VAR_KEYWORD] + [extra, *var]
    return signature.replace(parameters=head + rest)


def _public_rerank(
    cls: type[Reranker], impl: Callable[..., Any], signature: inspect.Signature
) -> Callable[..., np.ndarray]:
    def rerank(self: Reranker, candidates: Candidates, *, k: int, **side: Any) -> np.ndarray:
        return Reranker.rerank(self, candidates, k=k, **side)

    rerank.__dict__["__signature__"] = signature
    rerank.__doc__ = impl.__doc__
    rerank.__module__ = cls.__module__
    rerank.__qualname__ = f"{cls.__qualname__}.rerank"
    return rerank


def _as_lists(lists: Any, n_lists: int, k: int, owner: str) -> np.ndarray:
    """``_rerank``'s result as ``(n_lists, k)`` int64, padded with ``-1``; a bug raises."""
    out = np.asarray(lists)
    if (
        out.ndim != 2
        or out.shape[0] != n_lists
        or out.shape[1] > k
        or not (out.size == 0 or np.issubdtype(out.dtype, np.integer))
        or (out.size and int(out.min()) < -1)
    ):
        raise RuntimeError(
            f"{owner}._rerank returned shape {out.shape}, dtype {out.dtype}; a re-ranker must "
            f"return ({n_lists}, <= {k}) integer item indices >= -1 (a bug in {owner})"
        )
    if out.shape[1] < k or out.dtype != np.int64 or not out.flags.writeable:
        padded = np.full((n_lists, k), -1, dtype=np.int64)
        padded[:, : out.shape[1]] = out
        return padded
    return out


def _accepted_keywords(reranker: Any) -> set[str] | None:
    """Names of the keyword arguments of ``reranker.rerank`` (None: it accepts ``**kwargs``)."""
    params = inspect.signature(reranker.rerank).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in _KEYWORD} - {"candidates", "k"}


class Pipeline(Reranker):
    """Several re-rankers applied one after the other.

    Every step but the last re-ranks the whole candidate list (or its first ``depth`` items) and
    hands its output, with the model scores carried along, to the next step as candidates; the last
    step cuts to ``k``. Extra keyword arguments of :meth:`rerank` (``history=...``, ...) go to every
    step whose ``rerank`` accepts them.

    Note that a step that orders by score (DetConstSort, Calibrated, MMR) sees the original model
    scores, not the previous step's order; FA*IR keeps the order of its input within each group.

    Args:
        steps: The re-rankers, applied in this order (:class:`Reranker` subclasses, or any object
            with a ``rerank(candidates, *, k, ...)`` method).
        depth: How many items the intermediate steps keep (default: every candidate). Must be at
            least the ``k`` of :meth:`rerank`.
    """

    name: ClassVar[str] = "pipeline"

    def __init__(self, steps: Sequence[Reranker], *, depth: int | None = None) -> None:
        self.steps = list(steps)
        self.depth = depth

    def _check_params(self, candidates: Candidates, k: int) -> None:
        if not self.steps:
            raise ConfigError("A Pipeline needs at least one re-ranker; got none.")
        for step in self.steps:
            if not callable(getattr(step, "rerank", None)):
                raise ConfigError(
                    f"Pipeline step {step!r} has no rerank method; give re-ranker objects."
                )
        if self.depth is not None:
            check_k(self.depth, name="depth")
            if self.depth < k:
                raise ConfigError(
                    f"Pipeline depth={self.depth} is smaller than k={k}; use depth >= k or None."
                )

    def _rerank(self, candidates: Candidates, k: int, **side: Any) -> np.ndarray:
        """Apply every step in turn.

        Args:
            candidates: The candidate lists.
            k: Length of the final lists.
            **side: Side information forwarded to the steps whose ``rerank`` accepts it.

        Returns:
            ``(n_lists, k)`` int64 item indices, ``-1`` padding.
        """
        depth = candidates.width if self.depth is None else min(self.depth, candidates.width)
        used: set[str] = set()
        current = candidates
        lists = np.full((candidates.n_lists, k), -1, dtype=np.int64)
        for i, step in enumerate(self.steps):
            accepted = _accepted_keywords(step)
            kwargs = {
                key: value for key, value in side.items() if accepted is None or key in accepted
            }
            used.update(kwargs)
            last = i == len(self.steps) - 1
            lists = np.asarray(step.rerank(current, k=k if last else depth, **kwargs), np.int64)
            if not last:
                current = current.select(lists)
        unused = set(side) - used
        if unused:
            raise ConfigError(
                f"No step of the pipeline accepts the argument(s) {sorted(unused)}; check the "
                "names against the re-rankers' rerank signatures."
            )
        return lists

    def check_guarantee(
        self,
        lists: np.ndarray,
        candidates: Candidates,
        *,
        k: int,
        exhaustive: np.ndarray | bool | None = None,
    ) -> GuaranteeCheck | None:
        """The last step's guarantee (see :meth:`Reranker.check_guarantee`)."""
        check = getattr(self.steps[-1], "check_guarantee", None) if self.steps else None
        return None if check is None else check(lists, candidates, k=k, exhaustive=exhaustive)

    def __repr__(self) -> str:
        return f"Pipeline({self.steps!r}, depth={self.depth!r})"


def compose(*rerankers: Reranker, depth: int | None = None) -> Pipeline:
    """A :class:`Pipeline` applying ``rerankers`` in the given order."""
    return Pipeline(list(rerankers), depth=depth)


def check_k(k: Any, *, name: str = "k") -> int:
    """Validate a list length: an integer >= 1 (bools rejected)."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {k!r}.")
    return int(k)


def check_unit_interval(value: Any, *, name: str, owner: str, closed: bool = False) -> float:
    """Validate a number in ``(0, 1)`` (or ``[0, 1]`` when ``closed``).

    Args:
        value: The value to check.
        name: Parameter name, for the message.
        owner: Class name, for the message.
        closed: Accept the end points 0 and 1.
    """
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    v = float(value) if ok else float("nan")
    inside = (0.0 <= v <= 1.0) if closed else (0.0 < v < 1.0)
    if not inside:
        interval = "[0, 1]" if closed else "(0, 1) (exclusive)"
        raise ConfigError(f"{owner}: {name} must be a number in {interval}, got {value!r}.")
    return v
