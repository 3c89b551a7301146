"""Writing into a folder that holds something never silently destroys it."""

from __future__ import annotations

import pytest

import equirec
from equirec.cli import main
from equirec.errors import OutputExistsError
from equirec.workflows.rerank import rerank_run
from equirec.workflows.sweep import sweep_run


def test_a_run_never_replaces_a_folder_unasked(tmp_path, monkeypatch, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    config = {"data": {"dataset": "synthetic"}, "model": {"name": "pop"}, "out": str(out)}

    def no_training(*args, **kwargs):
        raise AssertionError("refused before anything is trained")

    with monkeypatch.context() as m:
        m.setattr("equirec.models.popularity.Popularity.fit", no_training)
        with pytest.raises(OutputExistsError, match="already exists and holds files"):
            equirec.run(config)
    assert (out / "notes.txt").read_text() == "my notes"
    argv = ["run", "--dataset", "synthetic", "--model", "pop", "--out", str(out), "--quiet"]
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert (out / "metrics.json").is_file() and not (out / "notes.txt").exists()


def test_an_empty_folder_may_be_written(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    equirec.run({"data": {"dataset": "synthetic"}, "model": {"name": "pop"}, "out": str(out)})
    assert (out / "recommendations.csv").is_file()


def test_rerank_and_sweep_refuse_to_replace_their_output(run_dir, tmp_path):
    out = tmp_path / "fair"
    rerank_run(run_dir, method="fair", params={"p": 0.5}, out=out)
    with pytest.raises(OutputExistsError):
        rerank_run(run_dir, method="fair", params={"p": 0.6}, out=out)
    again = rerank_run(run_dir, method="fair", params={"p": 0.6}, out=out, overwrite=True)
    assert again.metrics["rerank"]["params"] == {"p": 0.6}
    sweep_out = tmp_path / "sweep"
    sweep_run(run_dir, method="fair", grid={"p": [0.5]}, out=sweep_out)
    with pytest.raises(OutputExistsError):
        sweep_run(run_dir, method="fair", grid={"p": [0.5]}, out=sweep_out)
    sweep_run(run_dir, method="fair", grid={"p": [0.5]}, out=sweep_out, overwrite=True)
