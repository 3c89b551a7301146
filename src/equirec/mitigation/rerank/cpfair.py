"""CPFair: consumer- and producer-fair re-ranking (Naghiaei, Rahmani & Deldjoo, SIGIR 2022).

From every user's top-N candidates CPFair picks ``k`` items maximising::

    sum_{u,i} W_ui * S_ui  -  lambda_user * DC  -  lambda_item * DP
    s.t. sum_i W_ui = k for every list,  W_ui in {0, 1}

* ``S_ui``: model scores min-max normalised to ``[0, 1]`` within every list (as in
  :mod:`~equirec.mitigation.rerank.ugf`).
* ``DC = | mean_{u in Z1} M(u) - mean_{u in Z2} M(u) |``, the consumer-side (active vs inactive
  users) gap of the NDCG proxy ``M(u) = sum_i W_ui * rel_ui / IDEAL_u`` of
  :mod:`~equirec.mitigation.rerank.ugf`, computed from the caller's relevance *estimates* (training
  or validation data, calibrated scores), never from test labels -- the reference code used the
  test labels.
* ``DP = | Exp(I1) / |I1| - Exp(I2) / |I2| |``, the producer-side gap: ``Exp(G)`` is the number of
  recommendations (over all lists) of items of group ``G``, ``I1`` the popular (short-head) items
  and ``I2`` the long-tail items of the whole catalogue (``item_groups``), so ``DP`` is the
  difference of the *mean exposure per item* of the two groups (the paper's deviation of group
  means, with exposure -- times recommended -- as the item metric). The reference code instead
  subtracts the raw counts, ``Exp(I1) - Exp(I2)``, without absolute value; with 20% popular items
  that target is 50% long-tail recommendations, here it is 80% (equal exposure per item).

Both absolute values are linearised in the MILP with one auxiliary variable each
(``t >= gap``, ``t >= -gap``, cost ``lambda * t``).

**Scale of the lambdas.** Both penalties are differences of group means, so one swap moves them
little: a swap that raises a disadvantaged user's ``M(u)`` by ``d`` lowers ``DC`` by ``d / |Z2|``
(while ``DC > 0``), and one that replaces a popular item by a long-tail one lowers ``DP`` by
``1/|I1| + 1/|I2|`` (while ``DP > 0``); the swap is made when lambda times that reduction exceeds
the normalised score it costs. Useful values therefore grow with the data (``lambda_user`` of the
order of ``|Z2|``, ``lambda_item`` of the order of ``|I1|``) and are tuned per data set, as in
the paper.

**Training items.** Candidates must not contain the users' training items (the models' top-N
exclude them). The reference code ranked the whole catalogue including training items, so the
fairness-unaware baseline wasted slots on them and the re-ranker's gains were inflated
(rahmanidashti/CPFairRecSys issue #1). Pass ``seen`` (the training interactions) to
:meth:`CPFair.rerank` to have this checked: a candidate among the user's training items raises
:class:`~equirec.errors.DataError`, so the output is disjoint from ``seen``.

**Solvers.** As in UGF (same time-limit and fallback rules): ``"milp"`` (HiGHS, ``time_limit``),
``"greedy"``, or ``"auto"`` (MILP up to
:data:`~equirec.mitigation.rerank.selection.MILP_MAX_VARIABLES` binary variables after dropping
dominated candidates). The greedy starts from the top-``k`` and applies, best first, single swaps
within a list (one selected item out, one unselected candidate in) that increase the objective,
until none does.

The final list orders the selected items by model score.

The selection programme and its MILP are shared with UGF
(:mod:`~equirec.mitigation.rerank.selection`, inputs in
:mod:`~equirec.mitigation.rerank.selection_inputs`); the greedy swap search is in
:mod:`~equirec.mitigation.rerank.penalised`.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from equirec.errors import ConfigError, DataError
from equirec.fairness.item_metrics import head_items
from equirec.mitigation.rerank.base import Candidates, Reranker, check_unit_interval
from equirec.mitigation.rerank.penalised import greedy_penalised
from equirec.mitigation.rerank.selection import (
    MILP_MAX_VARIABLES,
    GapTerm,
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

__all__ = ["CPFair", "popular_items"]


def popular_items(popularity: np.ndarray, *, top: float = 0.2) -> np.ndarray:
    """Short-head mask: the ``top`` share of items with the most training interactions.

    Args:
        popularity: ``(n_items,)`` training interaction counts (or any popularity measure >= 0),
            indexed by item index. Never test data.
        top: Share of the catalogue called popular, in (0, 1): the ``ceil(top * n_items)`` most
            popular items are (ties broken by lower item index; same rounding as
            :func:`equirec.fairness.groups.activity_groups`).

    Returns:
        ``(n_items,)`` bool, True for popular (short-head) items, for ``CPFair(item_groups=...)``.
    """
    top = check_unit_interval(top, name="top", owner="popular_items")
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.ndim != 1 or len(pop) == 0:
        raise DataError(
            f"popular_items: popularity must be a non-empty 1-d array (one value per item), got "
            f"shape {pop.shape}."
        )
    if not np.isfinite(pop).all() or (pop < 0).any():
        raise DataError("popular_items: popularity must hold finite numbers >= 0 (e.g. counts).")
    return head_items(pop, method="top", cutoff=top)


class CPFair(Reranker):
    """Consumer- and producer-fair re-ranking (Naghiaei et al., SIGIR 2022); see the module doc.

    Args:
        user_groups: ``(n_lists,)`` group of every candidate list: 0 = advantaged/active (Z1),
            1 = disadvantaged/inactive (Z2), from training data.
        item_groups: ``(n_items,)`` bool (or 0/1) per item index, True = popular (short head),
            e.g. :func:`popular_items` of the training popularity (top 20% by default).
        lambda_user: Weight of the consumer-side gap ``DC`` (>= 0).
        lambda_item: Weight of the producer-side gap ``DP`` (>= 0).
        solver: ``"auto"``, ``"milp"`` or ``"greedy"``.
        time_limit: Seconds the MILP solver may run.

    Attributes (set by :meth:`rerank`):
        status_: ``"optimal"`` (MILP optimum, or both lambdas 0), ``"time_limit"`` (MILP stopped at
            the time limit: the better of its best solution and the greedy one, or the greedy one
            when it had none) or ``"greedy"``.
        user_gap_before_, user_gap_: Estimated ``DC`` of the top-``k`` by score and of the output.
        item_gap_before_, item_gap_: ``DP`` of the top-``k`` and of the output.
        long_tail_share_before_, long_tail_share_: Share of long-tail items among all
            recommended items, before and after.
        objective_before_, objective_: The penalised objective (normalised scores) of the top-k
            and of the output.
        n_variables_: Binary variables of the MILP (real candidates not dominated).
        solve_seconds_: Wall time of the MILP solve (0.0 when no MILP ran).
    """

    name: ClassVar[str] = "cpfair"
    joint: ClassVar[bool] = True
    checks_seen: ClassVar[bool] = True

    def __init__(
        self,
        *,
        user_groups: np.ndarray,
        item_groups: np.ndarray,
        lambda_user: float,
        lambda_item: float,
        solver: Solver = "auto",
        time_limit: float = 30.0,
    ) -> None:
        self.user_groups = user_groups
        self.item_groups = item_groups
        self.lambda_user = lambda_user
        self.lambda_item = lambda_item
        self.solver = solver
        self.time_limit = time_limit

    def _check(
        self, candidates: Candidates
    ) -> tuple[np.ndarray, np.ndarray, float, float, str, float]:
        owner = type(self).__name__
        lam_u = check_nonnegative(self.lambda_user, name="lambda_user", owner=owner)
        lam_i = check_nonnegative(self.lambda_item, name="lambda_item", owner=owner)
        users = check_binary_groups(
            self.user_groups,
            length=candidates.n_lists,
            name="user_groups",
            owner=owner,
            what="list",
        )
        items = np.asarray(self.item_groups)
        if items.ndim != 1:
            raise ConfigError(
                f"{owner}: item_groups must be a 1-d array with one entry per item index, got "
                f"shape {items.shape}."
            )
        n_needed = int(candidates.items.max()) + 1 if candidates.items.size else 0
        if len(items) < n_needed:
            raise ConfigError(
                f"{owner}: item_groups has {len(items)} entries but a candidate has item index "
                f"{n_needed - 1}; give one entry per item of the catalogue."
            )
        popular = check_binary_groups(
            items, length=len(items), name="item_groups", owner=owner, what="item"
        ).astype(bool)
        if popular.all() or not popular.any():
            raise ConfigError(
                f"{owner}: item_groups marks {'every' if popular.any() else 'no'} item as popular; "
                "both the popular and the long-tail group need items (see popular_items)."
            )
        solver, time_limit = check_solver(self.solver, self.time_limit, owner=owner)
        return users, popular, lam_u, lam_i, solver, time_limit

    def _check_params(self, candidates: Candidates, k: int) -> None:
        self._check(candidates)

    def _rerank(
        self,
        candidates: Candidates,
        k: int,
        *,
        relevance: np.ndarray | sp.sparray | None = None,
    ) -> np.ndarray:
        """Pick ``k`` items per list trading score against the user and item gaps.

        Args:
            candidates: The candidate lists, without the users' training items.
            k: Length of the output lists.
            relevance: Relevance estimates in [0, 1] from training/validation data, never test
                labels: an ``(n_lists, N)`` array aligned with ``candidates.items`` or a sparse
                users x items matrix (see :class:`~equirec.mitigation.rerank.ugf.UGF`). Required:
                without it :class:`~equirec.errors.DataError` says what to give.
            seen: Optional training interactions (sparse users x items, or a History); when
                given, a candidate among its user's training items raises
                :class:`~equirec.errors.DataError` (checked by :class:`Reranker`).

        Returns:
            ``(n_lists, k)`` int64 item indices ordered by model score, ``-1`` padding.
        """
        groups, popular, lam_u, lam_i, solver, time_limit = self._check(candidates)
        rel = check_relevance(relevance, candidates, owner=type(self).__name__)
        valid = candidates.valid
        k_u = list_lengths(candidates, k)
        scores = normalised_scores(candidates)
        coef, both = group_coefficients(groups)
        if not both and lam_u > 0:
            warnings.warn(
                "CPFair: user_groups holds a single group, so the user-side gap is 0 and "
                "lambda_user has no effect",
                UserWarning,
                stacklevel=4,
            )
        effect_user = coef[:, None] * metric_weights(rel, valid, k_u, "ndcg")
        n_pop = int(popular.sum())
        n_tail = len(popular) - n_pop
        item_weight = np.where(popular, 1.0 / n_pop, -1.0 / n_tail)
        safe_items = np.where(valid, candidates.items, 0)
        effect_item = np.where(valid, item_weight[safe_items], 0.0)
        tail = valid & ~popular[safe_items]

        base = top_k_selection(scores, valid, k_u)
        active = prune_dominated(valid, scores, [effect_user, effect_item], k_u)
        self.n_variables_ = int(active.sum())
        self.solve_seconds_ = 0.0

        def measure(sel: np.ndarray) -> tuple[float, float, float, float]:
            gu = abs(float((effect_user * sel).sum()))
            gi = abs(float((effect_item * sel).sum()))
            total = int(sel.sum())
            share = float((tail & sel).sum() / total) if total else 0.0
            return gu, gi, share, float((scores * sel).sum()) - lam_u * gu - lam_i * gi

        (
            self.user_gap_before_,
            self.item_gap_before_,
            self.long_tail_share_before_,
            self.objective_before_,
        ) = measure(base)

        selected = base
        if lam_u == 0 and lam_i == 0:
            status = "optimal"
        elif solver == "greedy" or (solver == "auto" and self.n_variables_ > MILP_MAX_VARIABLES):
            status = "greedy"
            selected = self._greedy(base, valid, scores, effect_user, effect_item, lam_u, lam_i)
        else:
            selected, status = self._milp(
                base,
                valid,
                active,
                scores,
                effect_user,
                effect_item,
                lam_u,
                lam_i,
                k_u,
                time_limit,
            )
        self.status_ = status
        self.user_gap_, self.item_gap_, self.long_tail_share_, self.objective_ = measure(selected)
        return selection_to_lists(selected, candidates, k)

    def _on_empty(self, n_lists: int) -> None:
        self.status_ = "optimal"
        self.user_gap_before_ = self.user_gap_ = self.item_gap_before_ = self.item_gap_ = 0.0
        self.long_tail_share_before_ = self.long_tail_share_ = 0.0
        self.objective_before_ = self.objective_ = self.solve_seconds_ = 0.0
        self.n_variables_ = 0

    @staticmethod
    def _greedy(
        base: np.ndarray,
        valid: np.ndarray,
        scores: np.ndarray,
        effect_user: np.ndarray,
        effect_item: np.ndarray,
        lam_u: float,
        lam_i: float,
    ) -> np.ndarray:
        return greedy_penalised(
            base,
            valid=valid,
            scores=scores,
            effect_user=effect_user,
            effect_item=effect_item,
            lambda_user=lam_u,
            lambda_item=lam_i,
        )

    def _milp(
        self,
        base: np.ndarray,
        valid: np.ndarray,
        active: np.ndarray,
        scores: np.ndarray,
        effect_user: np.ndarray,
        effect_item: np.ndarray,
        lam_u: float,
        lam_i: float,
        k_u: np.ndarray,
        time_limit: float,
    ) -> tuple[np.ndarray, str]:
        selected, status, seconds = solve_selection(
            active,
            k_u,
            regret_costs(active, scores, base, k_u),
            [GapTerm(effect_user, weight=lam_u), GapTerm(effect_item, weight=lam_i)],
            time_limit=time_limit,
        )
        self.solve_seconds_ = seconds
        if selected is not None and status == "optimal":
            return selected, status
        greedy = self._greedy(base, valid, scores, effect_user, effect_item, lam_u, lam_i)
        if selected is not None:  # time limit: keep the better of the incumbent and the greedy

            def value(sel: np.ndarray) -> float:
                return float(
                    (scores * sel).sum()
                    - lam_u * abs((effect_user * sel).sum())
                    - lam_i * abs((effect_item * sel).sum())
                )

            return (greedy if value(greedy) > value(selected) else selected), status
        reason = (
            f"the MILP found no solution within time_limit={time_limit}s"
            if status == "time_limit"
            else f"the MILP solver failed ({status})"
        )
        warnings.warn(
            f"CPFair: {reason}; falling back to the greedy heuristic. Raise time_limit or use "
            "solver='greedy'.",
            UserWarning,
            stacklevel=5,
        )
        return greedy, "time_limit" if status == "time_limit" else "greedy"
