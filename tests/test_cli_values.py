import pytest

from equirec.cli.values import grid_values, key_values, parse_value, search_space, seed_list
from equirec.errors import EquirecError


def test_flag_values_parse_json_or_plain_text():
    assert parse_value("0.5") == 0.5 and parse_value("[1, 2]") == [1, 2]
    assert parse_value("gender") == "gender"
    assert key_values(["p=0.3", "attribute=gender"], "--param") == {"p": 0.3, "attribute": "gender"}
    assert grid_values(["dim=32,64"]) == {"dim": [32, 64]}
    assert search_space(["lr=0.0001:0.01:log", "dim=32,64"]) == {
        "lr": {"low": 0.0001, "high": 0.01, "log": True},
        "dim": {"choices": [32, 64]},
    }
    assert seed_list("0,1,2") == [0, 1, 2] and seed_list(None) is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: key_values(["novalue"], "--set"), "--set 'novalue': write key=value"),
        (lambda: grid_values(["dim="]), "write name=v1,v2"),
        (lambda: search_space(["lr=1:2:cube"]), "NAME=LOW:HIGH:log"),
        (lambda: seed_list("0,a"), "--seeds '0,a'"),
    ],
)
def test_bad_flag_values_are_named(call, message):
    with pytest.raises(EquirecError, match=message):
        call()
