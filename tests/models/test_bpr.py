import numpy as np
import pytest
import torch

from equirec.errors import ConfigError
from equirec.models.bpr import BPR, BPRModule
from equirec.testing import RecommenderChecks, planted_split

SMALL = {"dim": 16, "batch_size": 64, "lr": 0.05, "device": "cpu"}


class TestBPR(RecommenderChecks):
    def model_factory(self) -> BPR:
        return BPR(**SMALL, epochs=20, seed=3)


def test_loss_decreases_and_the_seed_decides_everything():
    train, _ = planted_split()
    a = BPR(**SMALL, epochs=8, seed=1).fit(train)
    losses = [r["loss"] for r in a.training_log_.history]
    assert losses[-1] < 0.5 * losses[0]
    b = BPR(**SMALL, epochs=8, seed=1).fit(train)
    c = BPR(**SMALL, epochs=8, seed=2).fit(train)
    torch.testing.assert_close(a.module_.state_dict(), b.module_.state_dict())
    assert not torch.equal(a.module_.item_embeddings.weight, c.module_.item_embeddings.weight)


def test_negatives_are_unseen_items():
    train, _ = planted_split()
    model = BPR(**SMALL, epochs=1).fit(train)
    from equirec.models.bpr import _BPRTask

    task = _BPRTask(model, train.history(), None, torch.device("cpu"))
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(train.n_users), 50)
    negatives = task.negatives(users, rng)
    seen = train.history().csr(binary=True).toarray().astype(bool)
    has_unseen = ~seen.all(axis=1)
    assert not seen[users, negatives][has_unseen[users]].any()


def test_interaction_weights_scale_the_loss():
    train, _ = planted_split()
    plain = BPR(**SMALL, epochs=3, seed=0).fit(train)
    weights = np.where(train.interactions["user"] == "u00", 0.0, 1.0)
    reweighted = BPR(**SMALL, epochs=3, seed=0).fit(
        train.with_interactions(
            train.interactions.assign(weight=weights)[["user", "item", "timestamp", "weight"]]
        )
    )
    u00 = train.user_index(["u00"])[0]
    # weight 0: user u00 gets no gradient at all, so it keeps its initial embedding
    init = BPRModule(train.n_users, train.n_items, 16, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(
        reweighted.module_.user_embeddings.weight[u00], init.user_embeddings.weight[u00]
    )
    assert not torch.allclose(
        plain.module_.user_embeddings.weight[u00], init.user_embeddings.weight[u00]
    )


def test_extra_loss_terms_see_the_batch_and_change_training():
    train, _ = planted_split()
    seen = {}

    def shrink_users(batch, outputs):
        seen["keys"] = sorted(batch), sorted(outputs)
        return 10.0 * outputs["user_repr"].pow(2).sum(-1).mean()

    plain = BPR(**SMALL, epochs=3).fit(train)
    penalised = BPR(**SMALL, epochs=3)
    penalised.add_loss_term(shrink_users)
    penalised.fit(train)
    assert seen["keys"] == (
        ["items", "negatives", "users", "weights"],
        [
            "item_repr",
            "item_table",
            "losses",
            "neg_scores",
            "negative_repr",
            "pos_scores",
            "user_repr",
        ],
    )
    norm = lambda m: float(m.module_.user_embeddings.weight.detach().norm())  # noqa: E731
    assert norm(penalised) < 0.5 * norm(plain)
    assert "_extra_losses" not in penalised.get_params()


def test_early_stopping_on_validation_ndcg():
    train, held_out = planted_split()
    model = BPR(**SMALL, epochs=200, patience=2, seed=0).fit(train, valid=held_out)
    log = model.training_log_
    assert log.stopped_early and log.epochs < 200
    assert all("valid" in r for r in log.history)
    assert log.best_score == max(r["valid"] for r in log.history) > 0.1


def test_rejects_bad_parameters():
    train, _ = planted_split()
    with pytest.raises(ConfigError, match="batch_size"):
        BPR(batch_size=0).fit(train)


def test_prepared_scores_do_not_depend_on_the_batch(make_dataset):
    data = make_dataset([[1, 1, 0, 0, 1], [0, 1, 1, 0, 0], [1, 0, 0, 1, 1], [0, 0, 1, 1, 0]])
    model = BPR(dim=8, epochs=3, seed=0).fit(data)
    plain_items, plain_scores = model.topk(np.arange(4), k=2)
    model.prepare()
    items, scores = model.topk(np.arange(4), k=2)
    np.testing.assert_array_equal(items, plain_items)
    np.testing.assert_allclose(scores, plain_scores, rtol=1e-5)
    for user in range(4):
        np.testing.assert_array_equal(model.topk(np.array([user]), k=2)[1][0], scores[user])
    model.fit(data)
    assert model._prepared is None
