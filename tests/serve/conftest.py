"""Fixtures of the service tests: an audited EASE run and a copy of the shared BPR run."""

from __future__ import annotations

import shutil

import pytest

from equirec.cli import main

pytest.importorskip("fastapi")


@pytest.fixture(scope="session")
def ease_run(tmp_path_factory):
    """EASE on the synthetic log, audited (audit.json for GET /run)."""
    folder = tmp_path_factory.mktemp("serve") / "ease"
    args = ["run", "--dataset", "synthetic", "--model", "ease", "--out", str(folder), "--audit"]
    assert main([*args, "--quiet"]) == 0
    return folder


@pytest.fixture(scope="session")
def bpr_run(tmp_path_factory, run_dir):
    """The shared BPR run, copied without an audit (other tests may audit the original)."""
    folder = tmp_path_factory.mktemp("serve") / "bpr"
    shutil.copytree(run_dir, folder)
    for name in ("audit.json", "audit.html"):
        (folder / name).unlink(missing_ok=True)
    return folder
