import numpy as np
import torch

from equirec.data.history import History
from equirec.training.validation import masked_ndcg


def test_masked_ndcg_by_hand():
    seen = History.from_arrays(users=np.array([0]), items=np.array([0]), n_users=2, n_items=4)
    relevant = History.from_arrays(
        users=np.array([0, 0, 1]), items=np.array([2, 0, 3]), n_users=2, n_items=4
    )
    scores = torch.tensor([[9.0, 1.0, 2.0, 3.0], [4.0, 3.0, 2.0, 1.0]])
    ndcg = masked_ndcg(scores, np.array([0, 1]), seen, relevant, k=2)
    # user 0: item 0 is seen (masked, not relevant); ranking 3, 2 -> relevant 2 at rank 2
    # user 1: relevant 3 is ranked 4th, beyond k
    np.testing.assert_allclose(ndcg.numpy(), [1 / np.log2(3), 0.0])


def test_history_rows_match_the_full_matrix():
    h = History.from_arrays(
        users=np.array([0, 0, 2, 2, 2]), items=np.array([1, 1, 0, 3, 1]), n_users=3, n_items=4
    )
    users = np.array([2, 0])
    np.testing.assert_array_equal(h.rows(users).toarray(), h.csr(binary=True)[users].toarray())
