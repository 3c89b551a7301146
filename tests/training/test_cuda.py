"""The CUDA path: where a GPU exists, models train on it and score as on the CPU (skipped
without one; the project never needs a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from equirec.data import make_synthetic, split_dataset
from equirec.models.bpr import BPR
from equirec.models.sequential import SASRec
from equirec.training.device import resolve_device

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def test_auto_picks_the_cpu_without_a_gpu():
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@needs_gpu
@pytest.mark.parametrize(
    "model",
    [
        lambda device: SASRec(epochs=2, max_len=20, dim=16, layers=1, dropout=0.0, device=device),
        lambda device: BPR(dim=16, epochs=2, device=device),
    ],
)
def test_a_model_trained_on_the_gpu_scores_like_one_trained_on_the_cpu(model):
    train = split_dataset(make_synthetic(n_users=200, n_items=100, seed=0), method="loo").train
    on_gpu, on_cpu = model("cuda").fit(train), model("cpu").fit(train)
    users = np.arange(50)
    gpu, cpu = on_gpu.score_users(users), on_cpu.score_users(users)
    assert gpu.device.type == "cpu"  # scores come back to the CPU
    # the same seed and data: equal up to the kernels' rounding, compounded over 2 epochs
    torch.testing.assert_close(gpu, cpu, rtol=0.05, atol=0.05)
    top_gpu = on_gpu.rank(users, k=10).items
    top_cpu = on_cpu.rank(users, k=10).items
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_gpu, top_cpu, strict=True)]) > 0.8
