"""Progress and diagnostics go through the ``equirec`` logger; old saved models and runs still open.

Bars and lines show when the ``equirec`` logger is enabled for INFO (the command line's default),
not at WARNING (``--quiet``, or a program that configured no logging); nothing here reads times.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.models.base import Recommender
from equirec.progress import show_progress
from equirec.training.trainer import Trainer
from equirec.workflows.config import RunConfig
from equirec.workflows.rundir import open_run


class _Task:
    def batches(self, rng: np.random.Generator) -> Iterator[dict[str, torch.Tensor]]:
        x = torch.linspace(-1, 1, 8)[:, None]
        yield {"x": x, "y": 2 * x[:, 0]}

    def loss(self, module, batch):
        losses = (module(batch["x"])[:, 0] - batch["y"]) ** 2
        return losses, torch.ones_like(losses), {}

    def validate(self, module) -> float:
        return 0.5


def _fit() -> None:
    torch.manual_seed(0)
    Trainer(epochs=3, lr=0.1, description="tiny-fit").fit(nn.Linear(1, 1), _Task())


def test_the_library_installs_only_a_null_handler():
    handlers = logging.getLogger("equirec").handlers
    assert handlers and all(isinstance(h, logging.NullHandler) for h in handlers)


def test_progress_shows_with_info_and_not_with_warning(caplog, capsys):
    caplog.set_level(logging.INFO, logger="equirec")
    assert show_progress()
    _fit()
    assert "tiny-fit" in capsys.readouterr().err  # the bar
    summaries = [r for r in caplog.records if r.name == "equirec.training.trainer"]
    assert [r.levelno for r in summaries] == [logging.INFO]
    assert "tiny-fit: 3 epochs" in summaries[0].getMessage()
    assert "best validation 0.5000 at epoch 1" in summaries[0].getMessage()

    caplog.clear()
    caplog.set_level(logging.WARNING, logger="equirec")
    assert not show_progress()
    _fit()
    assert "tiny-fit" not in capsys.readouterr().err
    assert not [r for r in caplog.records if r.name.startswith("equirec")]


def test_every_epoch_at_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="equirec")
    _fit()
    epochs = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert [m.split(":")[0] for m in epochs] == [f"tiny-fit epoch {i}/3" for i in (1, 2, 3)]


_RUN = ["run", "--dataset", "synthetic", "--model", "bpr", "--epochs", "2"]


def test_the_command_line_shows_progress_unless_quiet(tmp_path, capsys):
    assert main([*_RUN, "--out", str(tmp_path / "loud")]) == 0
    err = capsys.readouterr().err
    assert "training bpr on synthetic" in err
    assert "bpr: 2 epochs" in err  # the trainer's summary
    assert "/2 [" in err  # the bar, e.g. "0/2 [00:00<?, ?epoch/s]"
    assert "bpr epoch 1/2" not in err  # per-epoch lines only with -v
    assert "run written to" in err

    assert main([*_RUN, "--out", str(tmp_path / "quiet"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "ndcg" in captured.out  # the results table still prints

    assert main([*_RUN, "--out", str(tmp_path / "debug"), "-v"]) == 0
    assert "debug: bpr epoch 1/2: loss" in capsys.readouterr().err


def test_the_command_line_leaves_logging_as_it_found_it(tmp_path):
    logger = logging.getLogger("equirec")
    before = (logger.level, list(logger.handlers))
    assert main([*_RUN, "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert (logger.level, list(logger.handlers)) == before


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        main([*_RUN, "--quiet", "--verbose"])
    assert "not allowed with" in capsys.readouterr().err


def _old_copy(run_dir, tmp_path):
    """A copy of ``run_dir`` as written before progress went through logging."""
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    settings = old / "model" / "settings.json"
    saved = json.loads(settings.read_text())
    saved["params"]["verbose"] = False
    settings.write_text(json.dumps(saved))
    config = old / "config.json"
    saved = json.loads(config.read_text())
    saved["config"]["model"]["verbose"] = True
    config.write_text(json.dumps(saved))
    return old


def test_a_saved_model_with_verbose_still_loads(run_dir, tmp_path):
    old = _old_copy(run_dir, tmp_path)
    model = Recommender.load(old / "model")
    assert "verbose" not in model.get_params()
    fresh = Recommender.load(run_dir / "model")
    assert model.get_params() == fresh.get_params()


def test_a_run_folder_with_verbose_still_opens(run_dir, tmp_path):
    old = _old_copy(run_dir, tmp_path)
    loaded = open_run(old)
    assert "verbose" not in loaded.config.model
    assert loaded.recommend().equals(open_run(run_dir).recommend())


def test_verbose_in_a_user_config_is_an_unknown_key():
    with pytest.raises(ConfigError, match="verbose"):
        RunConfig.from_dict({"model": {"name": "bpr", "verbose": False}})
