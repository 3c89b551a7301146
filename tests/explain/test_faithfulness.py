"""Deletion curves on a scorer whose answer is known."""

from __future__ import annotations

import numpy as np

from equirec.explain.faithfulness import deletion_curve, deletion_summary, order_by


def _scorer(histories):
    """Item 4's score is 3·[0 in h] + 2·[1 in h] + 1·[2 in h]; item 3 scores 2.5."""
    out = []
    for h in histories:
        s = np.zeros(5)
        s[3] = 2.5
        s[4] = sum(w for item, w in ((0, 3.0), (1, 2.0), (2, 1.0)) if item in set(h))
        out.append(s)
    return np.stack(out)


def test_the_right_order_falls_fastest_and_the_summary_counts_it():
    history = np.array([2, 0, 1])
    right = order_by(np.array([1.0, 3.0, 2.0]))  # positions of items 0, 1, 2
    assert right.tolist() == [1, 2, 0]
    good = deletion_curve(_scorer, history, 4, right, excluded=history, steps=4)
    bad = deletion_curve(_scorer, history, 4, right[::-1], excluded=history, steps=4)
    np.testing.assert_allclose(good.scores, [6, 3, 1, 0, 0])  # padded past the history
    np.testing.assert_allclose(bad.scores, [6, 5, 3, 0, 0])
    assert good.ranks.tolist() == [0, 0, 1, 1, 1]  # below item 3 from 1 < 2.5
    summary = deletion_summary([good, bad], k=1)
    assert summary["in_top_k"] == [1.0, 1.0, 0.5, 0.0, 0.0]
    assert summary["area"] == [0.375]
    np.testing.assert_allclose(summary["score_drop"], [0, 2, 4, 6, 6])
