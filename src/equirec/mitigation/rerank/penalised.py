"""CPFair's greedy: swap local search for the selection with the best penalised objective.

:func:`greedy_penalised` improves a selection (a ``(n_lists, N)`` boolean mask, ``k_u`` items per
list) for ``sum S W - lambda_user |DC| - lambda_item |DP|`` by single swaps within a list; see
:mod:`~equirec.mitigation.rerank.cpfair` for the objective.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

__all__ = ["greedy_penalised"]

_TOL = 1e-12
_MAX_ROUNDS = 1_000


def _sign(x: float) -> float:
    return 0.0 if x == 0 else (1.0 if x > 0 else -1.0)


@dataclass
class _Queue:
    """Swap candidates of every list under one pair of gap signs, best estimate first.

    ``order`` holds the lists sorted by the estimate of a full evaluation (valid while the list's
    version still equals ``start``); ``heap`` holds entries pushed since (re-estimates and lists
    changed later).
    """

    signs: tuple[float, float]
    order: np.ndarray
    est: np.ndarray
    out_pos: np.ndarray
    in_pos: np.ndarray
    start: np.ndarray
    log_seen: int
    ptr: int = 0
    heap: list[tuple[float, int, int, int, int]] = field(default_factory=list)

    def next_estimate(self) -> float:
        a = float(self.est[self.order[self.ptr]]) if self.ptr < len(self.order) else -np.inf
        return max(a, -self.heap[0][0] if self.heap else -np.inf)

    def pop(self) -> tuple[int, int, int, int] | None:
        """Best entry as ``(list, version, out position, in position)``; None when empty."""
        if self.heap and (
            self.ptr >= len(self.order) or -self.heap[0][0] >= self.est[self.order[self.ptr]]
        ):
            _, u, ver, j, i = heapq.heappop(self.heap)
            return u, ver, j, i
        if self.ptr >= len(self.order):
            return None
        u = int(self.order[self.ptr])
        self.ptr += 1
        return u, int(self.start[u]), int(self.out_pos[u]), int(self.in_pos[u])


class _PenalisedSearch:
    """State of the CPFair swap local search (see :func:`greedy_penalised`)."""

    def __init__(
        self,
        selected: np.ndarray,
        valid: np.ndarray,
        scores: np.ndarray,
        effect_user: np.ndarray,
        effect_item: np.ndarray,
        lambda_user: float,
        lambda_item: float,
    ) -> None:
        self.sel = selected.copy()
        self.valid = valid
        self.scores = scores
        self.eu = effect_user
        self.ei = effect_item
        self.lu = lambda_user
        self.li = lambda_item
        self.g_u = float((effect_user * self.sel).sum())
        self.g_i = float((effect_item * self.sel).sum())
        self.version = np.zeros(self.sel.shape[0], dtype=np.int64)
        self.log: list[int] = []  # lists changed, in order
        self.queues: dict[tuple[float, float], _Queue] = {}

    def signs(self) -> tuple[float, float]:
        return _sign(self.g_u), _sign(self.g_i)

    def exact_gain(self, u: int, j: int, i: int) -> float:
        """Objective change of swapping position ``j`` out of list ``u`` and ``i`` in."""
        du = float(self.eu[u, i] - self.eu[u, j])
        di = float(self.ei[u, i] - self.ei[u, j])
        return float(
            self.scores[u, i]
            - self.scores[u, j]
            - self.lu * (abs(self.g_u + du) - abs(self.g_u))
            - self.li * (abs(self.g_i + di) - abs(self.g_i))
        )

    def best_swaps(
        self, rows: np.ndarray, signs: tuple[float, float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Linear gain, out position and in position of the best swap of every list in rows."""
        v = (
            self.scores[rows]
            - self.lu * signs[0] * self.eu[rows]
            - self.li * signs[1] * self.ei[rows]
        )
        incoming = np.where(self.valid[rows] & ~self.sel[rows], v, -np.inf)
        outgoing = np.where(self.sel[rows], v, np.inf)
        i = incoming.argmax(axis=1)
        j = outgoing.argmin(axis=1)
        ar = np.arange(len(rows))
        return incoming[ar, i] - outgoing[ar, j], j, i

    def build(self, signs: tuple[float, float]) -> _Queue:
        """Full evaluation of every list under ``signs``."""
        est, js, is_ = self.best_swaps(np.arange(self.sel.shape[0]), signs)
        order = np.nonzero(np.isfinite(est) & (est > _TOL))[0]
        order = order[np.argsort(-est[order], kind="stable")]
        queue = _Queue(signs, order, est, js, is_, self.version.copy(), len(self.log))
        self.queues[signs] = queue
        return queue

    def push_best(self, queue: _Queue, rows: np.ndarray) -> None:
        """Queue the current best swap of ``rows`` under the queue's signs."""
        if len(rows) == 0:
            return
        est, js, is_ = self.best_swaps(rows, queue.signs)
        for t in np.nonzero(np.isfinite(est) & (est > _TOL))[0]:
            u = int(rows[t])
            entry = (-float(est[t]), u, int(self.version[u]), int(js[t]), int(is_[t]))
            heapq.heappush(queue.heap, entry)

    def run(self, queue: _Queue) -> bool:
        """Apply improving swaps from ``queue`` while the signs hold; True when a sign changed."""
        while (entry := queue.pop()) is not None:
            u, ver, j, i = entry
            if ver != self.version[u]:
                continue
            gain = self.exact_gain(u, j, i)
            if gain <= _TOL:
                continue
            if gain < queue.next_estimate() - _TOL:  # a gap would change sign: re-queue
                heapq.heappush(queue.heap, (-gain, u, ver, j, i))
                continue
            self.sel[u, j] = False
            self.sel[u, i] = True
            self.g_u += float(self.eu[u, i] - self.eu[u, j])
            self.g_i += float(self.ei[u, i] - self.ei[u, j])
            self.version[u] += 1
            self.log.append(u)
            queue.log_seen = len(self.log)
            if self.signs() != queue.signs:
                return True
            self.push_best(queue, np.array([u]))
        return False

    def search(self) -> np.ndarray:
        """Run rounds (one per sign change or full re-evaluation) until no swap improves."""
        for _ in range(_MAX_ROUNDS):
            signs = self.signs()
            queue = self.queues.get(signs)
            if queue is None:
                queue = self.build(signs)
            else:  # catch up with the lists changed under other signs
                self.push_best(queue, np.unique(self.log[queue.log_seen :]))
                queue.log_seen = len(self.log)
            if self.run(queue):
                continue
            # Exhausted; entries dropped earlier (their gap would have changed sign) may pay now:
            # stop only when a fresh evaluation of every list finds nothing either.
            changes = len(self.log)
            if not self.run(self.build(signs)) and len(self.log) == changes:
                break
        return self.sel


def greedy_penalised(
    selected: np.ndarray,
    *,
    valid: np.ndarray,
    scores: np.ndarray,
    effect_user: np.ndarray,
    effect_item: np.ndarray,
    lambda_user: float,
    lambda_item: float,
) -> np.ndarray:
    """Swap local search for ``max sum S W - lu |sum eu W| - li |sum ei W|`` (CPFair greedy).

    While the signs of the two gaps stay fixed the objective change of a swap in list u is
    ``v_i - v_j`` with ``v = S - lu * sign_u * eu - li * sign_i * ei``, so every list's best swap is
    its best unselected ``v`` in for its worst selected ``v`` out. Swaps are applied best first
    (checked against the exact change, which is smaller when a gap would change sign); the values
    are recomputed whenever a gap changes sign (at most ``_MAX_ROUNDS`` times). Being a local
    search it can stop short of the optimum, typically once a gap sits at 0, where every single
    swap that moves it costs ``lambda * |change|``.

    Returns:
        The improved selection mask (same number of items per list).
    """
    if selected.size == 0:
        return selected.copy()
    return _PenalisedSearch(
        selected, valid, scores, effect_user, effect_item, lambda_user, lambda_item
    ).search()
