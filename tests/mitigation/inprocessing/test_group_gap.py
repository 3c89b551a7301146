"""Group-gap penalty: value, one-sided and smoothed gradient, and the gap it closes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from equirec.errors import ConfigError
from equirec.fairness.groups import Groups
from equirec.mitigation.inprocessing import GroupGapPenalty
from equirec.models.bpr import BPR, _BPRTask
from equirec.models.sequential import SequentialRecommender

from ._common import _bpr, _one_class, _sasrec, _taste_groups


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


def test_bad_parameters_raise_clear_errors(encoded):
    train = encoded.train
    with pytest.raises(ConfigError, match="at least two"):
        GroupGapPenalty.from_dataset(_one_class(train), attribute="group")
    with pytest.raises(ConfigError, match="lam"):
        GroupGapPenalty.from_dataset(train, attribute="group", lam=-0.1)
    with pytest.raises(ConfigError, match="unknown user attribute"):
        GroupGapPenalty.from_dataset(train, attribute="age")
    with pytest.raises(ConfigError, match="aggregate"):
        GroupGapPenalty.from_dataset(train, attribute="group", aggregate="max")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="smoothing"):
        GroupGapPenalty.from_dataset(train, attribute="group", smoothing=1.0)
