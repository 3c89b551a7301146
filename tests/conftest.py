"""Suite-wide settings and shared fixtures.

Tiny models run fastest (and steadiest on shared cores) single-threaded.
"""

import pytest
import torch

from equirec.cli import main

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """One small trained run folder (BPR on the synthetic log) that audits and re-rankers read."""
    out = tmp_path_factory.mktemp("runs") / "bpr"
    argv = ["run", "--dataset", "synthetic", "--model", "bpr", "--epochs", "3", "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return out
