"""Post-processing re-rankers: re-order each user's candidate list under a fairness goal.

Every re-ranker takes :class:`Candidates` (top-N lists in internal item indices, best first) and
returns ``(n_lists, k)`` item indices; see :mod:`equirec.mitigation.rerank.base`.
"""

from equirec.mitigation.rerank.base import (
    Candidates,
    Pipeline,
    Reranker,
    candidates_from_frame,
    compose,
    lists_to_frame,
)
from equirec.mitigation.rerank.calibrated import Calibrated
from equirec.mitigation.rerank.cpfair import CPFair, popular_items
from equirec.mitigation.rerank.detconstsort import DetConstSort
from equirec.mitigation.rerank.fair import FAIR
from equirec.mitigation.rerank.mmr import MMR
from equirec.mitigation.rerank.ugf import UGF

__all__ = [
    "FAIR",
    "MMR",
    "UGF",
    "CPFair",
    "Calibrated",
    "Candidates",
    "DetConstSort",
    "Pipeline",
    "Reranker",
    "candidates_from_frame",
    "compose",
    "lists_to_frame",
    "popular_items",
]
