"""User-level DP-SGD: the accounting, the limits that must hold, and bad settings named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError
from equirec.models.sequential import SASRec
from equirec.training.privacy import ALPHAS, Privacy, resolve_privacy

pytest.importorskip("opacus")

N_ITEMS = 15
SMALL = dict(max_len=8, dim=16, layers=1, heads=1, dropout=0.0, lr=0.01, device="cpu")


def _cycles(n_users: int = 40, length: int = 12, seed: int = 0) -> Dataset:
    """Every user walks the catalogue in order: the next item is the current one + 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start = int(rng.integers(N_ITEMS))
        rows += [(f"u{u}", 100 + (start + t) % N_ITEMS, t) for t in range(length)]
    return Dataset(interactions=pd.DataFrame(rows, columns=["user", "item", "timestamp"]))


def _accuracy(model: SASRec, data: Dataset) -> float:
    recs = model.recommend(k=1, exclude_seen=False)
    last = data.interactions.groupby("user").item.last()
    expected = 100 + (last - 100 + 1) % N_ITEMS
    return float((recs.set_index("user").item == expected.loc[recs.user].to_numpy()).mean())


def test_without_noise_or_clipping_every_user_each_step_is_ordinary_training():
    data = _cycles()
    plain = SASRec(epochs=3, batch_size=64, seed=0, **SMALL).fit(data)  # one batch: everyone
    settings = {"noise_multiplier": 0.0, "max_grad_norm": None, "sample_rate": 1.0}
    private = SASRec(epochs=3, batch_size=64, seed=0, privacy=settings, **SMALL).fit(data)
    theirs = private.module_.state_dict()
    for name, ours in plain.module_.state_dict().items():
        a, b = ours, theirs[name]
        if name.endswith("qkv.bias"):
            # the key bias cannot change attention (softmax is shift-invariant), so its
            # gradient is 0 up to rounding, which Adam scales up: left out of the comparison
            a, b = a.view(3, -1)[[0, 2]], b.view(3, -1)[[0, 2]]
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
    assert private.training_log_.privacy["epsilon"] == float("inf")


def test_the_epsilon_reported_is_an_independent_accountants():
    dp_accounting = pytest.importorskip("dp_accounting")
    data = _cycles()
    settings = {"noise_multiplier": 1.1, "sample_rate": 0.25, "delta": 1e-3}
    model = SASRec(epochs=2, seed=0, privacy=settings, **SMALL).fit(data)
    spent = model.training_log_.privacy
    assert spent["steps"] == 8 and spent["units"] == 40  # 1 / q steps per epoch
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(0.25, dp_accounting.GaussianDpEvent(1.1)), 8
    )
    other = dp_accounting.rdp.RdpAccountant(ALPHAS).compose(event).get_epsilon(1e-3)
    assert spent["epsilon"] == pytest.approx(other, rel=0.02)


def test_a_target_epsilon_is_met_and_large_noise_learns_nothing():
    data = _cycles()
    plain = SASRec(epochs=30, batch_size=8, seed=0, **SMALL).fit(data)
    assert _accuracy(plain, data) > 0.9
    target = SASRec(epochs=3, batch_size=8, seed=0, privacy={"epsilon": 8.0}, **SMALL).fit(data)
    spent = target.training_log_.privacy
    assert spent["epsilon"] <= 8.0 and spent["epsilon"] == pytest.approx(8.0, rel=0.05)
    assert spent["delta"] == 1 / 400  # below 1 / users
    noisy = SASRec(
        epochs=10, batch_size=8, seed=0, privacy={"noise_multiplier": 1000.0}, **SMALL
    ).fit(data)
    assert _accuracy(noisy, data) < 0.3  # chance is 1/15 among the unseen


@pytest.mark.parametrize(
    "settings,match",
    [
        ({"epsilon": 0.0}, "epsilon must be a positive number"),
        ({"epsilon": -1.0}, "epsilon must be a positive number"),
        ({"epsilon": 1.0, "delta": 1.0}, r"delta must be in \(0, 1\)"),
        ({"epsilon": 1.0, "noise_multiplier": 1.0}, "exactly one of epsilon"),
        ({}, "not neither"),
        ({"noise_multiplier": 1.0, "max_grad_norm": None}, "calibrated to the clipping norm"),
        ({"noise_multiplier": 1.0, "sample_rate": 2.0}, r"sample_rate must be in \(0, 1\]"),
    ],
)
def test_bad_settings_are_named(settings, match):
    with pytest.raises(ConfigError, match=match):
        resolve_privacy(Privacy(**settings), units=100, epochs=1, batch_size=10, name="sasrec")


def test_bad_privacy_parameters_of_a_model_are_named():
    data = _cycles(n_users=5)
    with pytest.raises(ConfigError, match=r"unknown privacy key\(s\) \['eps'\]"):
        SASRec(epochs=1, privacy={"eps": 1.0}, **SMALL).fit(data)
    with pytest.raises(ConfigError, match=r"privacy\.epsilon must be a number"):
        SASRec(epochs=1, privacy={"epsilon": "high"}, **SMALL).fit(data)


def test_a_private_run_reports_its_epsilon(tmp_path, capsys):
    import json

    from equirec.cli import main

    config = tmp_path / "private.toml"
    config.write_text(
        '[data]\ndataset = "synthetic"\n[model]\nname = "sasrec"\nepochs = 1\nmax_len = 20\n'
        "dim = 16\n[model.privacy]\nepsilon = 8.0\nsample_rate = 0.2\n"
    )
    out = tmp_path / "run"
    assert main(["run", "--config", str(config), "--out", str(out)]) == 0
    spent = json.loads((out / "metrics.json").read_text())["training"]["privacy"]
    assert spent["unit"] == "user" and spent["epsilon"] <= 8.0 and spent["steps"] == 5
    assert f"ε = {spent['epsilon']:.3g} at δ = {spent['delta']:.3g}" in capsys.readouterr().out


def test_bpr_trains_privately_with_a_user_as_the_unit():
    from equirec.models.bpr import BPR

    data = _cycles()
    settings = {"noise_multiplier": 1.0, "sample_rate": 0.5}
    model = BPR(dim=8, epochs=2, batch_size=64, seed=0, privacy=settings, device="cpu").fit(data)
    spent = model.training_log_.privacy
    assert spent["units"] == 40 and spent["steps"] == 4 and 0 < spent["epsilon"] < float("inf")
    assert model.training_log_.epochs == 2  # every epoch, no validation


def test_vectorised_per_user_gradients_equal_one_backward_per_user():
    from equirec.models.sequence_tasks import NextItemTask
    from equirec.training.privacy import PrivateTraining
    from equirec.training.trainer import Trainer

    data = _cycles(n_users=12)
    model = SASRec(epochs=1, seed=0, **SMALL).fit(data)
    module = model.module_
    module.train()  # dropout 0: both passes are deterministic
    task = NextItemTask(model, data.history(), None)
    trainer = Trainer(epochs=1, seed=0, description="sasrec")
    private = PrivateTraining(trainer, task, task.units, Privacy(noise_multiplier=0.0))
    params = [p for p in module.parameters() if p.requires_grad]
    units = task.units[:7]
    assert task.unit_loss(module) is not None
    fast, slow = [], []
    rng = np.random.default_rng(0)
    vectorised = list(private._vectorised(task.unit_loss(module), params, units, rng, fast))
    looped = list(private._one_by_one(module, params, units, rng, slow))
    assert len(vectorised) == 1 and len(looped) == 7
    for j, p in enumerate(params):
        together = torch.cat([chunk[j] for chunk in looped])
        assert vectorised[0][j].shape == (7, *p.shape)
        torch.testing.assert_close(vectorised[0][j], together, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fast, slow, rtol=1e-5)
    sampled = SASRec(epochs=1, seed=0, loss="sampled", n_negatives=4, **SMALL).fit(data)
    assert NextItemTask(sampled, data.history(), None).unit_loss(sampled.module_) is None


def test_clipping_bounds_every_users_contribution():
    from equirec.training.privacy import PrivacyBudget, noisy_gradient

    p = torch.zeros(3, requires_grad=True)
    budget = PrivacyBudget(
        noise_multiplier=0.0,
        delta=1e-5,
        max_grad_norm=1.0,
        sample_rate=1.0,
        steps=1,
        units=2,
        target_epsilon=None,
    )
    grads = torch.tensor([[3.0, 4.0, 0.0], [0.1, 0.0, 0.0]])  # norms 5 and 0.1
    noisy_gradient([p], [[grads]], budget, torch.Generator().manual_seed(0))
    # the first is scaled to norm 1, the second kept; their sum over the expected 2 units
    torch.testing.assert_close(p.grad, torch.tensor([(0.6 + 0.1) / 2, 0.8 / 2, 0.0]))


def test_a_model_that_cannot_train_privately_is_named():
    from equirec.workflows.config import RunConfig

    with pytest.raises(ConfigError, match="'ease' cannot be trained privately; DP-SGD trains"):
        RunConfig.from_dict({"model": {"name": "ease", "privacy": {"epsilon": 8.0}}}).check()
