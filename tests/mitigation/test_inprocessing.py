"""In-processing mitigation: trainable loss terms, the adversary, the regularisers and IPW.

Models are tiny (dim 16, one block, a few epochs) on small synthetic data; every comparison is
between two fits with the same seeds that differ only in the mitigation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from equirec.data import make_synthetic
from equirec.data.dataset import Dataset
from equirec.data.splits import split_dataset
from equirec.errors import ConfigError, DataError
from equirec.evaluation.evaluator import evaluate
from equirec.fairness.groups import Groups
from equirec.fairness.leakage import leakage_probe
from equirec.mitigation.inprocessing import (
    AdversarialDebiasing,
    ExposurePenalty,
    GroupGapPenalty,
    PopularityPenalty,
    gradient_reversal,
    ipw_weights,
)
from equirec.models.bpr import BPR, _BPRTask
from equirec.models.sequential import BERT4Rec, SASRec, SequentialRecommender
from equirec.training.trainer import Trainer

DIM = 16


def _sasrec(**kw: object) -> SASRec:
    params: dict = dict(dim=DIM, layers=1, max_len=20, epochs=10, batch_size=32, lr=5e-3)
    params.update(dropout=0.1, verbose=False, device="cpu", seed=0)
    params.update(kw)
    return SASRec(**params)


def _bert4rec(**kw: object) -> BERT4Rec:
    params: dict = dict(dim=DIM, layers=1, max_len=20, epochs=10, batch_size=32, lr=5e-3)
    params.update(dropout=0.1, verbose=False, device="cpu", seed=0)
    params.update(kw)
    return BERT4Rec(**params)


def _bpr(**kw: object) -> BPR:
    params: dict = dict(dim=DIM, epochs=20, batch_size=256, lr=1e-2, verbose=False, device="cpu")
    params.update(kw)
    return BPR(**params)


def _taste_groups() -> Dataset:
    """Two equal user groups, each keeping 90% of its items in its own taste cluster."""
    return make_synthetic(
        n_users=300,
        n_items=80,
        n_interactions_per_user=12,
        user_bias=0.9,
        group_sizes=[0.5, 0.5],
        seed=0,
    )


@pytest.fixture(scope="module")
def encoded():
    return split_dataset(_taste_groups(), method="loo")


# -- trainer ---------------------------------------------------------------------------------------


class _Task:
    """Regression of y = 2x (one batch per epoch)."""

    def __init__(self) -> None:
        self.x = torch.linspace(-1, 1, 16)[:, None]

    def batches(self, rng: np.random.Generator) -> Iterator[dict[str, torch.Tensor]]:
        yield {"x": self.x}

    def loss(self, module, batch):
        pred = module(batch["x"])[:, 0]
        return (pred - 2 * batch["x"][:, 0]) ** 2, torch.ones(16), {"pred": pred}

    def validate(self, module) -> float:
        return 0.0


class _Pull(nn.Module):
    """A term that learns: pulls its own parameter (and nothing else) towards 3."""

    def __init__(self) -> None:
        super().__init__()
        self.target = nn.Parameter(torch.zeros(()))

    def forward(self, batch, outputs):
        return (self.target - 3.0) ** 2


def test_trainer_optimises_the_parameters_of_module_terms():
    torch.manual_seed(0)
    model = nn.Linear(1, 1, bias=False)
    term = _Pull()
    Trainer(epochs=300, lr=0.05, verbose=False, extra_losses=[term, term]).fit(
        model, _Task(), validate=False
    )
    assert abs(term.target.item() - 3.0) < 1e-2  # trained (once, though listed twice)
    assert abs(model.weight.item() - 2.0) < 1e-2  # the model still trains
    plain = _Pull()
    Trainer(epochs=5, lr=0.05, verbose=False, extra_losses=[lambda b, o: plain(b, o)]).fit(
        nn.Linear(1, 1), _Task(), validate=False
    )
    assert plain.target.item() == 0.0  # a plain callable's parameters are not optimised


def test_gradient_reversal_flips_and_scales_the_gradient():
    x = torch.ones(3, requires_grad=True)
    y = gradient_reversal(x, 2.5)
    torch.testing.assert_close(y.detach(), x.detach())
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3,), -2.5))


# -- adversarial debiasing -------------------------------------------------------------------------


def _leakage(model, split) -> float:
    data = split.train
    reps = model.user_representations(np.arange(data.n_users)).numpy()
    labels = data.user_attributes["group"].to_numpy()
    return leakage_probe(reps, labels, n_boot=0, seed=0).auc


def _ndcg(model, split) -> float:
    return evaluate(model, test=split.test, ks=(10,)).overall["ndcg@10"]


@pytest.mark.parametrize(
    ("make", "lam", "positions"),
    [(_sasrec, 1.0, "all"), (_bert4rec, 2.0, "last"), (_bpr, 1.0, "last")],
    ids=["sasrec-all-positions", "bert4rec", "bpr"],
)
def test_adversary_lowers_the_attribute_leakage_of_user_representations(
    encoded, make, lam, positions
):
    # Measured (seed 0): probe AUC / test NDCG@10 without -> with the adversary: SASRec
    # (every position) 0.983 -> 0.780 / 0.314 -> 0.164; BERT4Rec 0.992 -> 0.832 /
    # 0.326 -> 0.142; BPR 0.999 -> 0.763 / 0.277 -> 0.122. SASRec with the adversary on the
    # last position only is weak and seed-fragile here (0.983 -> 0.963 at λ = 1, 0.980 at
    # λ = 2), which is why ``positions="all"`` exists.
    plain = make().fit(encoded.train)
    adversary = AdversarialDebiasing.from_dataset(
        encoded.train, attributes=["group"], dim=DIM, lam=lam, positions=positions
    )
    debiased = make()
    debiased.add_loss_term(adversary)
    debiased.fit(encoded.train)

    before, after = _leakage(plain, encoded), _leakage(debiased, encoded)
    assert before > 0.95  # the probe finds the planted group in the plain model
    assert after < before - 0.03
    assert all(np.isfinite(r["loss"]) for r in debiased.training_log_.history)
    assert _ndcg(debiased, encoded) > 0.3 * _ndcg(plain, encoded) > 0  # still recommends
    assert float(adversary.last_losses["group"]) > 0.3  # the discriminator is kept confused


def test_bert4rec_terms_see_the_prediction_time_representation(encoded):
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def record(batch, outputs):
        seen.append((batch["users"].clone(), outputs["user_repr"].detach().clone()))
        return outputs["user_repr"].sum() * 0.0

    model = _bert4rec(epochs=1, dropout=0.0, lr=0.0)  # lr 0: weights stay as initialised
    model.add_loss_term(record)
    model.fit(encoded.train)
    users, reprs = seen[-1]
    expected = model.user_representations(users.numpy())
    torch.testing.assert_close(reprs, expected, atol=1e-5, rtol=1e-5)


def test_extra_discriminator_steps_bring_the_adversary_closer_to_its_best_response():
    torch.manual_seed(0)
    codes = np.repeat([0, 1], 100)
    groups = Groups("g", codes, ("a", "b"))
    reprs = torch.randn(200, 4) + torch.from_numpy(codes)[:, None].float()  # attribute encoded
    batch = {"users": torch.arange(200)}
    plain = AdversarialDebiasing(groups, dim=4, lam=1.0, seed=1)
    strong = AdversarialDebiasing(groups, dim=4, lam=1.0, seed=1, disc_steps=20, disc_lr=0.05)
    before = plain(batch, {"user_repr": reprs}).item()  # same initial discriminators
    after = strong(batch, {"user_repr": reprs.clone().requires_grad_(True)}).item()
    assert after < before - 0.1  # the inner updates ran before the returned loss
    with torch.no_grad():  # no inner updates outside training
        frozen = [p.clone() for p in strong.parameters()]
        strong(batch, {"user_repr": reprs})
    assert all(torch.equal(a, b) for a, b in zip(frozen, strong.parameters(), strict=True))
    with pytest.raises(ConfigError, match="disc_steps"):
        AdversarialDebiasing(groups, dim=4, disc_steps=-1)


def test_adversary_counts_each_user_once_and_skips_missing_labels():
    groups = Groups("g", np.array([0, 1, -1, 1]), ("a", "b"))
    adversary = AdversarialDebiasing(groups, dim=2, lam=1.0, hidden=0, balanced=False)
    reprs = torch.randn(5, 2, requires_grad=True)
    batch = {"users": torch.tensor([0, 0, 1, 2, 3])}
    loss = adversary(batch, {"user_repr": reprs})
    logits = adversary.discriminators["d0"](reprs.detach()[[0, 2, 4]])
    expected = nn.functional.cross_entropy(logits, torch.tensor([0, 1, 1]))
    torch.testing.assert_close(loss.detach(), expected.detach())
    loss.backward()
    assert reprs.grad is not None
    assert torch.all(reprs.grad[[1, 3]] == 0)  # a repeated row and an unlabelled user
    # The reversed gradient is -λ times the discriminator's.
    x = reprs.detach()[[0, 2, 4]].clone().requires_grad_(True)
    nn.functional.cross_entropy(
        adversary.discriminators["d0"](x), torch.tensor([0, 1, 1])
    ).backward()
    torch.testing.assert_close(reprs.grad[[0, 2, 4]], -x.grad)


def test_all_positions_weigh_each_user_once():
    groups = Groups("g", np.array([0, 1, 1]), ("a", "b"))
    adversary = AdversarialDebiasing(groups, dim=2, hidden=0, balanced=True, positions="all")
    hidden = torch.randn(2, 3, 2)
    mask = torch.tensor([[False, True, True], [True, True, True]])
    batch = {"users": torch.tensor([0, 2])}
    outputs = {"user_repr": hidden[:, -1], "hidden": hidden, "target_mask": mask}
    loss = adversary(batch, outputs)
    ce = nn.functional.cross_entropy(
        adversary.discriminators["d0"](hidden[mask]),
        torch.tensor([0, 0, 1, 1, 1]),
        reduction="none",
    )
    # class weights over labelled users: a 1 user, b 2 users -> 1.5 and 0.75; rows share 1/2, 1/3
    w = torch.tensor([1.5 / 2, 1.5 / 2, 0.75 / 3, 0.75 / 3, 0.75 / 3])
    torch.testing.assert_close(loss.detach(), ((w * ce).sum() / w.sum()).detach())
    with pytest.raises(DataError, match="positions='all' needs"):
        adversary(batch, {"user_repr": hidden[:, -1]})
    # "auto": every position where the model marks them as per-prefix representations (SASRec),
    # else the last one
    auto = AdversarialDebiasing(groups, dim=2, hidden=0, balanced=True, positions="auto")
    last = AdversarialDebiasing(groups, dim=2, hidden=0, balanced=True, positions="last")
    for a in (auto, last):
        a.load_state_dict(adversary.state_dict())
    torch.testing.assert_close(auto(batch, {**outputs, "prefix_hidden": hidden}), loss)
    torch.testing.assert_close(auto(batch, outputs), last(batch, outputs))
    with pytest.raises(ConfigError, match="positions must be"):
        AdversarialDebiasing(groups, dim=2, positions="first")


# -- group gap -------------------------------------------------------------------------------------


def _group_losses(model, labels: np.ndarray) -> np.ndarray:
    """Mean unweighted training loss per user group, in eval mode, fixed negatives/masks."""
    if isinstance(model, BPR):
        task = _BPRTask(model, model.history_, None, torch.device("cpu"))
    else:
        assert isinstance(model, SequentialRecommender)
        task = model._task(model.history_, None)
    model.module_.eval()
    losses, users = [], []
    with torch.no_grad():
        for batch in task.batches(np.random.default_rng(1)):
            loss, _, outputs = task.loss(model.module_, batch)
            u = batch["users"]
            if "target_mask" in outputs:
                u = u[:, None].expand_as(outputs["target_mask"])[outputs["target_mask"]]
            losses.append(loss.numpy())
            users.append(u.numpy())
    g = labels[np.concatenate(users)]
    per_example = np.concatenate(losses)
    return np.array([per_example[g == k].mean() for k in (0, 1)])


@pytest.mark.parametrize("make", [_sasrec, _bpr], ids=["sasrec", "bpr"])
def test_group_gap_penalty_closes_the_training_loss_gap(make):
    # Group 1's interactions weigh 0.05 in the loss, so the plain model neglects them.
    # Measured (seed 0): SASRec gap 1.025 -> 0.065, BPR 0.141 -> 0.009.
    data = _taste_groups()
    labels = data.user_attributes["group"].to_numpy()
    rows = data.interactions.drop(columns=["user_idx", "item_idx"])
    neglected = labels[data.interactions["user_idx"].to_numpy()] == 1
    data = data.with_interactions(rows.assign(weight=np.where(neglected, 0.05, 1.0)))
    gaps = []
    for lam in (0.0, 1.0):
        model = make()
        model.add_loss_term(GroupGapPenalty.from_dataset(data, attribute="group", lam=lam))
        model.fit(data)
        means = _group_losses(model, labels)
        gaps.append(abs(means[0] - means[1]))
    assert gaps[0] > 0.1
    assert gaps[1] < 0.25 * gaps[0]


def _gap_inputs(losses: list[float], users: list[int]):
    loss = torch.tensor(losses, requires_grad=True)
    return loss, {"users": torch.tensor(users)}, {"losses": loss}


def test_group_gap_value_and_one_sided_gradient():
    groups = Groups("g", np.array([0, 0, 1, 1, -1]), ("a", "b"))
    loss, batch, outputs = _gap_inputs([1.0, 3.0, 5.0, 5.0, 100.0], [0, 1, 2, 3, 4])
    term = GroupGapPenalty(groups, lam=2.0)
    value = term(batch, outputs)
    assert value.item() == pytest.approx(2.0 * abs(2.0 - 5.0))  # user 4 has no group
    value.backward()
    assert loss.grad is not None
    # Only the worse-served group (b) is pushed down: d/dl of λ·mean_b = λ/2 each.
    torch.testing.assert_close(loss.grad, torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0]))

    loss, batch, outputs = _gap_inputs([1.0, 3.0, 5.0, 5.0], [0, 1, 2, 3])
    plain = GroupGapPenalty(groups, lam=2.0, smoothing=0.0, raise_better=True)
    plain(batch, outputs).backward()
    assert loss.grad is not None
    torch.testing.assert_close(loss.grad, torch.tensor([-1.0, -1.0, 1.0, 1.0]))


def test_group_gap_uses_targets_of_sequence_batches_and_variance():
    groups = Groups("g", np.array([0, 1, 2]), ("a", "b", "c"))
    mask = torch.tensor([[True, True], [False, True], [True, False]])
    loss = torch.tensor([1.0, 3.0, 4.0, 6.0])  # rows 0, 0, 1, 2
    batch = {"users": torch.tensor([0, 1, 2]), "weights": torch.ones(3, 2)}
    term = GroupGapPenalty(groups, lam=1.0, aggregate="variance")
    value = term(batch, {"losses": loss, "target_mask": mask})
    assert value.item() == pytest.approx(np.var([2.0, 4.0, 6.0]))
    single = GroupGapPenalty(groups, lam=1.0)({"users": torch.tensor([0, 0])}, {"losses": loss[:2]})
    assert single.item() == 0.0  # fewer than two groups in the batch


# -- exposure / popularity -------------------------------------------------------------------------


def _head_share(model, penalty: PopularityPenalty, n_users: int) -> float:
    items, _ = model.topk(np.arange(n_users), k=10)
    return float(penalty.head_mask[items[items >= 0]].mean())


@pytest.mark.parametrize("make", [_sasrec, _bpr], ids=["sasrec", "bpr"])
def test_popularity_penalty_lowers_the_share_of_head_items_in_top_10(make):
    # Measured (seed 0): head share of the top-10 (39 head items of 80) / test NDCG@10: SASRec
    # 0.955 -> 0.452 / 0.211 -> 0.136; BPR 0.843 -> 0.561 / 0.191 -> 0.137.
    data = make_synthetic(n_users=300, n_items=80, n_interactions_per_user=12, seed=0)
    split = split_dataset(data, method="loo")
    shares, ndcgs = [], []
    for lam in (0.0, 1.0):
        penalty = PopularityPenalty.from_dataset(split.train, lam=lam)
        model = make()
        model.add_loss_term(penalty)
        model.fit(split.train)
        shares.append(_head_share(model, penalty, data.n_users))
        ndcgs.append(_ndcg(model, split))
    assert shares[1] < shares[0] - 0.15
    assert ndcgs[1] > 0.3 * ndcgs[0] > 0


def test_exposure_penalty_formula():
    groups = Groups("provider", np.array([0, 0, 0, 1, -1]), ("p0", "p1"))
    term = ExposurePenalty(groups, lam=2.0)
    batch = {"users": torch.tensor([7, 7, 8])}
    uniform = {"user_repr": torch.zeros(3, 2), "item_table": torch.zeros(5, 2)}
    assert term(batch, uniform).item() == pytest.approx(0.0)
    # One user puts all mass on item 0 (group p0: 3 of 5 items): r_p0 = 5/3, r_p1 = 0.
    table = torch.zeros(5, 2)
    table[0, 0] = 100.0
    peaked = {"user_repr": torch.tensor([[1.0, 0.0]] * 3), "item_table": table}
    assert term(batch, peaked).item() == pytest.approx(2.0 * (5 / 3) ** 2, rel=1e-4)


def test_exposure_penalty_from_item_attribute():
    data = make_synthetic(n_users=20, n_items=12, n_interactions_per_user=4, seed=0)
    term = ExposurePenalty.from_item_attribute(data, "provider", lam=0.5)
    assert term.labels == ("0", "1") and term.codes.shape == (12,)
    with pytest.raises(ConfigError, match=r"'provider'"):
        ExposurePenalty.from_item_attribute(data, "studio")
    with pytest.raises(ConfigError, match="multi"):
        ExposurePenalty.from_item_attribute(data, "genres")


# -- inverse-propensity weighting ------------------------------------------------------------------


def test_ipw_weights_favour_tail_items_and_change_nothing_else():
    data = make_synthetic(n_users=100, n_items=40, n_interactions_per_user=8, seed=0)
    out = ipw_weights(data, eta=0.5, clip=4.0)
    counts = np.bincount(data.interactions["item_idx"], minlength=data.n_items)
    items = out.interactions["item_idx"].to_numpy()
    w = out.interactions["weight"].to_numpy()
    expected = np.minimum(4.0, (counts.max() / counts[items]) ** 0.5)
    np.testing.assert_allclose(w / w[counts[items] == counts.max()][0], expected, rtol=1e-5)
    assert w.mean() == pytest.approx(1.0)  # normalised: mean weight unchanged
    head = counts[items] >= np.quantile(counts, 0.8)
    assert w[head].sum() / w.sum() < head.mean()  # popular items lose weight share
    pd.testing.assert_frame_equal(
        out.interactions.drop(columns="weight"), data.interactions.drop(columns="weight")
    )
    assert out.user_ids.equals(data.user_ids) and out.item_ids.equals(data.item_ids)
    pd.testing.assert_frame_equal(out.user_attributes, data.user_attributes)
    pd.testing.assert_frame_equal(out.item_attributes, data.item_attributes)
    assert (data.interactions["weight"] == 1.0).all()  # the input is left alone
    assert "ipw" in out.info and "ipw" not in data.info


def test_ipw_popularity_comes_from_the_given_training_data():
    data = make_synthetic(n_users=60, n_items=30, n_interactions_per_user=6, seed=1)
    split = split_dataset(data, method="loo")
    test = ipw_weights(split.test, eta=1.0, clip=8.0, popularity=split.train, normalize=False)
    counts = np.bincount(split.train.interactions["item_idx"], minlength=data.n_items)
    n_i = counts[test.interactions["item_idx"].to_numpy()]
    expected = np.where(n_i > 0, np.minimum(8.0, counts.max() / np.maximum(n_i, 1)), 8.0)
    np.testing.assert_allclose(test.interactions["weight"], expected, rtol=1e-5)
    assert np.all(ipw_weights(data, eta=0.0).interactions["weight"] == 1.0)


# -- bad parameters --------------------------------------------------------------------------------


def test_bad_parameters_raise_clear_errors(encoded):
    train = encoded.train
    with pytest.raises(ConfigError, match="lam"):
        AdversarialDebiasing.from_dataset(train, attributes="group", dim=DIM, lam=-1.0)
    with pytest.raises(ConfigError, match=r"unknown user attribute 'gender'.*\['group'\]"):
        AdversarialDebiasing.from_dataset(train, attributes=["gender"], dim=DIM)
    with pytest.raises(ConfigError, match="dim"):
        AdversarialDebiasing.from_dataset(train, attributes="group", dim=0)
    one_class = Dataset(
        interactions=train.interactions[["user", "item", "timestamp"]],
        user_attributes=pd.DataFrame({"group": "x"}, index=train.user_ids),
        user_ids=train.user_ids,
        item_ids=train.item_ids,
    )
    with pytest.raises(ConfigError, match="at least two"):
        AdversarialDebiasing.from_dataset(one_class, attributes="group", dim=DIM)
    with pytest.raises(ConfigError, match="at least two"):
        GroupGapPenalty.from_dataset(one_class, attribute="group")
    with pytest.raises(ConfigError, match="lam"):
        GroupGapPenalty.from_dataset(train, attribute="group", lam=-0.1)
    with pytest.raises(ConfigError, match="unknown user attribute"):
        GroupGapPenalty.from_dataset(train, attribute="age")
    with pytest.raises(ConfigError, match="aggregate"):
        GroupGapPenalty.from_dataset(train, attribute="group", aggregate="max")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="smoothing"):
        GroupGapPenalty.from_dataset(train, attribute="group", smoothing=1.0)
    with pytest.raises(ConfigError, match="lam"):
        PopularityPenalty.from_dataset(train, lam=-2.0)
    with pytest.raises(ConfigError, match="temperature"):
        PopularityPenalty.from_dataset(train, temperature=0.0)
    with pytest.raises(ConfigError, match="cutoff"):
        PopularityPenalty.from_dataset(train, cutoff=1.5)
    with pytest.raises(ConfigError, match="eta"):
        ipw_weights(train, eta=-0.5)
    with pytest.raises(ConfigError, match="clip"):
        ipw_weights(train, clip=0.5)
    with pytest.raises(DataError, match="needs batch"):
        AdversarialDebiasing.from_dataset(train, attributes="group", dim=DIM)({}, {})
    with pytest.raises(DataError, match="item_table"):
        PopularityPenalty.from_dataset(train)(
            {"users": torch.zeros(1, dtype=torch.long)}, {"user_repr": torch.zeros(1, DIM)}
        )
