"""The model registry lists built-in models without importing them, and their lines stay true."""

from __future__ import annotations

import pytest

from equirec.errors import ConfigError
from equirec.models.registry import BUILT_IN, available_models, describe_model, model_class


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_line_is_the_docstring_first_line(name):
    cls = model_class(name)
    assert cls.name == name and cls.__module__ == BUILT_IN[name][0]
    assert describe_model(name) == (cls.__doc__ or "").strip().splitlines()[0]


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(ConfigError, match=r"unknown model 'nope'; choose one of: bert4rec, bpr"):
        model_class("nope")
    assert set(BUILT_IN) <= set(available_models())
    assert model_class("SASRec") is model_class("sasrec")
