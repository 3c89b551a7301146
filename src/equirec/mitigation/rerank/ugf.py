"""UGF: user-oriented fairness re-ranking (Li et al., WWW 2021).

Users are split into an advantaged group Z1 (``user_groups == 0``, e.g. the 5% most active) and a
disadvantaged group Z2 (``user_groups == 1``). From every user's top-N candidates UGF picks ``k``
items so as to keep as much model score as possible while the two groups' mean recommendation
quality differ by at most ``epsilon``::

    max_W  sum_{u,i} W_ui * S_ui
    s.t.   sum_i W_ui = k                                   for every list u
           | mean_{u in Z1} M(u) - mean_{u in Z2} M(u) | <= epsilon
           W_ui in {0, 1}

**Scores.** ``S_ui`` are the model scores min-max normalised to ``[0, 1]`` within every list
(:func:`~equirec.mitigation.rerank.base.minmax_per_list`), so every list weighs the same in the
objective whatever the scale of the model's scores.

**Quality proxy.** The selected set is unordered, so ``M(u)`` is the linear proxy of the paper: a
sum of the relevance of the selected items, normalised. With ``rel_ui`` the caller's relevance
estimates and ``k_u = min(k, number of candidates of u)``:

* ``metric="ndcg"``: ``M(u) = sum_i W_ui * rel_ui / IDEAL_u`` with ``IDEAL_u`` the sum of the
  ``k_u`` largest ``rel_ui`` of the list (1.0 when the best possible items are picked);
* ``metric="f1"``: ``M(u) = 2 * sum_i W_ui * rel_ui / (k_u + T_u)`` with ``T_u = sum_i rel_ui``
  over the list's candidates, the estimated number of relevant items (F1 = 2|L ∩ T| / (|L| + |T|)).

``M(u) = 0`` for a user whose estimated relevance is 0 for every candidate (the user still counts
in the group mean).

**No test labels.** The reference code fills ``rel_ui`` with the *test* labels, so the constraint
is tuned on the very data it is evaluated on (the authors confirm it in
rutgerswiselab/user-fairness issue #1); the gains it reports are not attainable. Here ``rerank``
takes only ``relevance`` *estimates* -- from training or validation interactions, or calibrated
model scores -- and nothing else about the user: the class never sees test data, which fixes the
leak. The constraint therefore holds for the *estimated* gap (``gap_``), not necessarily for the
gap measured on test labels.

**Solvers.** ``solver="milp"`` solves the integer programme with HiGHS through
:func:`scipy.optimize.milp` (``time_limit`` seconds at most; presolve off, as it costs more than
it saves on these wide assignment problems; relative optimality gap 1e-4 of the score *lost*
relative to the top-``k``, not of the total score). Candidates an optimum never needs are dropped
first: of the candidates of a list with the same relevance estimate only the ``k`` best-scored are
kept (0/1 estimates leave at most ``2k`` variables per list). ``"greedy"`` runs the swap heuristic
below; ``"auto"`` uses the MILP when it has at most :data:`MILP_MAX_VARIABLES` binary variables and
the greedy otherwise. When no selection meets ``epsilon``, or the MILP stops at the time limit
without a solution, the greedy result is returned and a warning is issued; when it stops with a
solution, the better of that and the greedy one is returned. HiGHS checks the time limit between
phases only, so large problems can overrun it by several seconds. A very small ``epsilon`` makes
the MILP slow.

**Greedy.** Start from the top-``k`` by score. While the estimated gap exceeds ``epsilon``, apply
the single swap (one selected item out, one unselected candidate of the same list in) that costs
the least normalised score per unit of gap reduction: in a disadvantaged user's list a candidate of
higher estimated relevance comes in (raising ``M(u)``), in an advantaged user's list one of lower
relevance (lowering ``M(u)``), the other way round when Z2 is ahead. Swaps never push the gap past
``-epsilon``; the loop stops when the constraint holds or no swap reduces the gap.

The final list orders the selected items by model score (ties: candidate order).

The selection programme, its solver and the greedy repair are shared with CPFair and live in
:mod:`~equirec.mitigation.rerank.selection`; the parameter checks and the per-candidate inputs
(scores, quality-proxy weights) in :mod:`~equirec.mitigation.rerank.selection_inputs`.
"""

from __future__ import annotations

import warnings
from typing import ClassVar, Literal, get_args

import numpy as np
import scipy.sparse as sp

from equirec.errors import ConfigError
from equirec.mitigation.rerank.base import Candidates, Reranker
from equirec.mitigation.rerank.selection import (
    MILP_MAX_VARIABLES,
    GapTerm,
    greedy_gap_repair,
    prune_dominated,
    regret_costs,
    selection_to_lists,
    solve_selection,
    top_k_selection,
)
from equirec.mitigation.rerank.selection_inputs import (
    Solver,
    check_binary_groups,
    check_nonnegative,
    check_relevance,
    check_solver,
    group_coefficients,
    list_lengths,
    metric_weights,
    normalised_scores,
)

__all__ = ["MILP_MAX_VARIABLES", "UGF", "Metric"]

Metric = Literal["ndcg", "f1"]
"""UGF's linearised quality proxy ``M(u)`` (see the module docstring)."""
METRICS: tuple[str, ...] = get_args(Metric)


class UGF(Reranker):
    """User-oriented fairness re-ranking (Li et al., WWW 2021); see the module docstring.

    Args:
        user_groups: ``(n_lists,)`` group of every candidate list (row): 0 = advantaged (Z1),
            1 = disadvantaged (Z2). Build it from training data (e.g. the 5% most active users).
        epsilon: Largest allowed estimated gap ``|mean_Z1 M - mean_Z2 M|`` (>= 0).
        metric: Quality proxy ``"ndcg"`` or ``"f1"`` (linearised, see the module docstring).
        solver: ``"auto"``, ``"milp"`` or ``"greedy"``.
        time_limit: Seconds the MILP solver may run.

    Attributes (set by :meth:`rerank`):
        status_: ``"optimal"`` (MILP optimum, or the top-k already satisfied the bound),
            ``"time_limit"`` (MILP stopped at the time limit: the better of its best solution and
            the greedy one, or the greedy one when it had none), ``"greedy"`` (greedy heuristic
            chosen) or ``"infeasible"`` (no selection meets ``epsilon``: greedy result, as close
            as it could get, with a warning).
        gap_before_: Estimated gap of the top-``k`` by score.
        gap_: Estimated gap of the returned lists.
        objective_: Sum of the normalised scores of the returned selection.
        n_variables_: Number of binary variables (real candidates).
        solve_seconds_: Wall time of the MILP solve (0.0 when no MILP ran).
    """

    name: ClassVar[str] = "ugf"
    joint: ClassVar[bool] = True

    def __init__(
        self,
        *,
        user_groups: np.ndarray,
        epsilon: float,
        metric: Metric = "ndcg",
        solver: Solver = "auto",
        time_limit: float = 30.0,
    ) -> None:
        self.user_groups = user_groups
        self.epsilon = epsilon
        self.metric = metric
        self.solver = solver
        self.time_limit = time_limit

    def _check(self, n_lists: int) -> tuple[np.ndarray, float, str, str, float]:
        owner = type(self).__name__
        epsilon = check_nonnegative(self.epsilon, name="epsilon", owner=owner)
        if self.metric not in METRICS:
            raise ConfigError(
                f"{owner}: unknown metric {self.metric!r}; use one of "
                f"{', '.join(map(repr, METRICS))}."
            )
        solver, time_limit = check_solver(self.solver, self.time_limit, owner=owner)
        groups = check_binary_groups(
            self.user_groups, length=n_lists, name="user_groups", owner=owner, what="list"
        )
        return groups, epsilon, str(self.metric), solver, time_limit

    def _check_params(self, candidates: Candidates, k: int) -> None:
        self._check(candidates.n_lists)

    def _rerank(
        self,
        candidates: Candidates,
        k: int,
        *,
        relevance: np.ndarray | sp.sparray | None = None,
    ) -> np.ndarray:
        """Pick ``k`` items per list under the estimated user-fairness bound.

        Args:
            candidates: The candidate lists (already without the users' training items).
            k: Length of the output lists.
            relevance: Relevance estimates in [0, 1], never test labels: an ``(n_lists, N)``
                array aligned with ``candidates.items`` (padding ignored) or a sparse users x items
                matrix (missing entries 0; stays aligned inside a pipeline). Required: without it
                :class:`~equirec.errors.DataError` says what to give.

        Returns:
            ``(n_lists, k)`` int64 item indices ordered by model score, ``-1`` padding.
        """
        groups, epsilon, metric, solver, time_limit = self._check(candidates.n_lists)
        rel = check_relevance(relevance, candidates, owner=type(self).__name__)
        valid = candidates.valid
        k_u = list_lengths(candidates, k)
        scores = normalised_scores(candidates)
        coef, both = group_coefficients(groups)
        effect = coef[:, None] * metric_weights(rel, valid, k_u, metric)
        base = top_k_selection(scores, valid, k_u)
        active = prune_dominated(valid, scores, [effect], k_u)
        self.n_variables_ = int(active.sum())
        self.solve_seconds_ = 0.0
        self.gap_before_ = abs(float((effect * base).sum()))
        if not both:
            warnings.warn(
                "UGF: user_groups holds a single group, so there is no gap to bound; returning "
                "the top-k by score",
                UserWarning,
                stacklevel=4,
            )
        selected = base
        if self.gap_before_ <= epsilon:
            status = "optimal"
        elif solver == "greedy" or (solver == "auto" and self.n_variables_ > MILP_MAX_VARIABLES):
            status = "greedy"
            selected = self._greedy(base, valid, scores, effect, epsilon)
            if abs(float((effect * selected).sum())) > epsilon:
                warnings.warn(
                    f"UGF: the greedy heuristic could not bring the estimated gap down to "
                    f"epsilon={epsilon} (no single swap reduces it further)",
                    UserWarning,
                    stacklevel=4,
                )
        else:
            selected, status = self._milp(
                base, valid, active, scores, effect, epsilon, k_u, time_limit
            )
        self.status_ = status
        self.gap_ = abs(float((effect * selected).sum()))
        self.objective_ = float((scores * selected).sum())
        return selection_to_lists(selected, candidates, k)

    def _on_empty(self, n_lists: int) -> None:
        self.status_ = "optimal"
        self.gap_before_ = self.gap_ = self.objective_ = self.solve_seconds_ = 0.0
        self.n_variables_ = 0

    @staticmethod
    def _greedy(
        base: np.ndarray,
        valid: np.ndarray,
        scores: np.ndarray,
        effect: np.ndarray,
        epsilon: float,
    ) -> np.ndarray:
        return greedy_gap_repair(base, valid=valid, scores=scores, effect=effect, epsilon=epsilon)

    def _milp(
        self,
        base: np.ndarray,
        valid: np.ndarray,
        active: np.ndarray,
        scores: np.ndarray,
        effect: np.ndarray,
        epsilon: float,
        k_u: np.ndarray,
        time_limit: float,
    ) -> tuple[np.ndarray, str]:
        selected, status, seconds = solve_selection(
            active,
            k_u,
            regret_costs(active, scores, base, k_u),
            [GapTerm(effect, bound=epsilon)],
            time_limit=time_limit,
        )
        self.solve_seconds_ = seconds
        if selected is not None and status == "optimal":
            return selected, status
        greedy = self._greedy(base, valid, scores, effect, epsilon)
        if selected is not None:  # time limit: keep the better of the incumbent and the greedy
            greedy_ok = abs(float((effect * greedy).sum())) <= epsilon
            if greedy_ok and (scores * greedy).sum() > (scores * selected).sum():
                return greedy, status
            return selected, status
        reason = {
            "infeasible": f"no selection meets epsilon={epsilon}",
            "time_limit": f"the MILP found no solution within time_limit={time_limit}s",
        }.get(status, "the MILP solver failed")
        warnings.warn(
            f"UGF: {reason}; falling back to the greedy heuristic (estimated gap as small as it "
            "could get). Raise epsilon or time_limit, or use solver='greedy'.",
            UserWarning,
            stacklevel=5,
        )
        return greedy, status if status in ("infeasible", "time_limit") else "greedy"
