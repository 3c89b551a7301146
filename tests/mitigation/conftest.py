"""Shared fixtures: one small trained run that the mitigation tests re-rank."""

import pytest

from equirec.cli import main


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "bpr"
    code = main(
        [
            "run",
            "--dataset",
            "synthetic",
            "--model",
            "bpr",
            "--epochs",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out
