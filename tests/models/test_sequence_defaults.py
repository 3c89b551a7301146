import json

import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.models import Recommender
from equirec.models.bert4rec import BERT4Rec
from equirec.models.sequence_defaults import auto_dropout, auto_epochs, auto_settings
from equirec.models.sequential import SASRec
from equirec.models.transformer import Dropout

AUTO = {"dropout": "auto", "min_epochs": "auto", "patience": "auto"}


def _history(*, users: int, items: int, per_user: int) -> History:
    """``users`` histories of ``per_user`` items each over a catalogue of ``items``."""
    rng = np.random.default_rng(0)
    return History.from_sequences(
        [rng.integers(items, size=per_user) for _ in range(users)], n_items=items
    )


def test_ml100k_sized_data_keeps_the_measured_values():
    # ML-100K: 943 users, 1,682 items, ~98k training interactions (58 per item)
    h = _history(users=943, items=1682, per_user=104)
    assert auto_settings(AUTO, h) == {"dropout": 0.5, "min_epochs": 50, "patience": 20}


def test_a_million_interactions_over_few_items_get_less_dropout_and_fewer_epochs():
    # ML-1M-sized: 6,040 users, 3,416 items, ~1M interactions (293 per item)
    h = _history(users=6040, items=3416, per_user=165)
    assert auto_settings(AUTO, h) == {"dropout": 0.1, "min_epochs": 8, "patience": 5}


def test_dropout_falls_with_density_between_the_ends_and_epochs_never_below_five():
    values = [auto_dropout(_history(users=100, items=100, per_user=n)) for n in (10, 64, 128, 256)]
    assert values[0] == values[1] == 0.5
    assert values[-1] == 0.1
    assert values[2] == pytest.approx(0.3)  # halfway in log-density
    h = _history(users=100_000, items=10, per_user=1)
    assert auto_epochs("min_epochs", h) == auto_epochs("patience", h) == 5


def test_only_auto_parameters_are_set_and_users_without_history_do_not_count():
    h = History.from_sequences(
        [np.arange(5)] * 943 + [np.array([], dtype=np.int64)] * 943, n_items=5
    )
    assert auto_settings({"dropout": 0.3, "min_epochs": "auto", "patience": 7}, h) == {
        "min_epochs": 50
    }


def _rates(model) -> list[float]:
    return [m.p for m in model.module_.modules() if isinstance(m, Dropout)]


def _log(users: int = 30, length: int = 10) -> Dataset:
    rows = [(f"u{u}", (u + t) % 12, t) for u in range(users) for t in range(length)]
    return Dataset(interactions=pd.DataFrame(rows, columns=["user", "item", "timestamp"]))


def test_a_fit_records_what_auto_became_and_a_saved_model_keeps_it(tmp_path):
    d = _log()
    model = SASRec(max_len=8, dim=8, epochs=2, device="cpu").fit(d, valid=d)
    # 300 interactions over 12 items (25 per item), 30 users
    expected = {
        "dropout": 0.5,
        "min_epochs": round(50 * 943 / 30),
        "patience": round(20 * 943 / 30),
    }
    assert model.settings_ == expected
    assert model.training_log_.settings == expected
    assert model.setting("dropout") == 0.5
    assert set(_rates(model)) == {0.5}  # the network was built with it
    assert model.get_params()["dropout"] == "auto"  # the parameter itself is unchanged
    model.save(tmp_path / "m")
    settings = json.loads((tmp_path / "m" / "settings.json").read_text())
    assert settings["extra"]["training"]["settings"] == expected
    assert Recommender.load(tmp_path / "m").setting("patience") == expected["patience"]


def test_explicit_values_are_used_as_given_and_bert4rec_keeps_its_own():
    d = _log()
    model = SASRec(max_len=8, dim=8, epochs=1, dropout=0.2, min_epochs=0, patience=3).fit(d)
    assert model.settings_ == {}
    assert set(_rates(model)) == {0.2}
    bert = BERT4Rec(max_len=8, dim=8, epochs=1).fit(d)
    assert set(bert.settings_) == {"min_epochs"}  # dropout 0.2 and patience 30 are its own


@pytest.mark.parametrize(
    "params,message",
    [
        ({"dropout": "high"}, r'dropout must be in \[0, 1\) or "auto", not \'high\''),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"patience": -1}, 'patience must be "auto" or a whole number >= 0, not -1'),
        ({"min_epochs": 2.5}, "min_epochs must be"),
    ],
)
def test_bad_values_are_named(params, message):
    with pytest.raises(ConfigError, match=message):
        SASRec(max_len=8, dim=8, epochs=1, **params).fit(_log())
