"""Data-parallel training: two gloo processes train as one process on the same global batches."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from equirec.cli import main
from equirec.training.distributed import SINGLE, Shard, all_reduce_sum, broadcast_float, current

CONFIG = (
    '[data]\ndataset = "synthetic"\n[model]\nname = "sasrec"\nepochs = 3\nmax_len = 20\n'
    "dim = 16\nlayers = 1\ndropout = 0.0\nbatch_size = 64\nmin_epochs = 0\n"
)


def test_shards_split_every_batch_between_the_processes():
    rows = np.arange(7)
    assert rows[Shard(0, 2).rows(7)].tolist() == [0, 2, 4, 6]
    assert rows[Shard(1, 2).rows(7)].tolist() == [1, 3, 5]
    assert rows[SINGLE.rows(7)].tolist() == list(range(7))
    assert rows[Shard(2, 3).rows(2)].tolist() == []  # a small last batch: nothing for rank 2


def test_outside_a_process_group_everything_is_one_process():
    assert current() == SINGLE
    t = torch.tensor([1.0, 2.0])
    all_reduce_sum([t])
    assert t.tolist() == [1.0, 2.0] and broadcast_float(0.5) == 0.5


def test_two_gloo_processes_match_one_process(tmp_path):
    (tmp_path / "run.toml").write_text(CONFIG)
    argv = ["run", "--config", str(tmp_path / "run.toml"), "-q"]
    assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    assert main([*argv, "--out", str(tmp_path / "two"), "--nproc", "2"]) == 0
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["distributed"] == {"processes": 2, "backend": "gloo"}
    assert "distributed" not in one
    # the same batches, gradients summed over the shards: equal up to float rounding
    for a, b in zip(one["training"]["history"], two["training"]["history"], strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
        assert b["valid"] == pytest.approx(a["valid"], abs=1e-3)
    for name, value in one["overall"].items():
        assert two["overall"][name] == pytest.approx(value, rel=1e-3, abs=1e-4), name
    assert not list(tmp_path.glob("two/.*.tmp"))
