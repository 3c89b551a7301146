"""Typed parameters derived from signatures, and the messages bad values get."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import Field

from equirec.errors import ConfigError
from equirec.params import (
    Params,
    accepted_names,
    describe,
    docstring_args,
    param_rows,
    plain,
    signature_model,
    validate,
)


class Term:
    """A loss term.

    Args:
        groups: Filled in by the factory.
        lam: Strength ``λ >= 0``,
            on two lines.
        mode: How it works.
    """

    def __init__(self, groups: Any, *, lam: float = 1.0, mode: Literal["a", "b"] = "a") -> None:
        self.groups, self.lam, self.mode = groups, lam, mode

    @classmethod
    def from_data(cls, data: Any, *, attribute: str, **params: Any) -> Term:
        """Groups from ``data``.

        Args:
            data: The data.
            attribute: Which attribute.
            **params: The constructor's.
        """
        return cls(data, **params)


def test_docstring_args_joins_continuation_lines():
    assert docstring_args(Term) == {
        "groups": "Filled in by the factory.",
        "lam": "Strength ``λ >= 0``, on two lines.",
        "mode": "How it works.",
    }


def test_a_factory_forwarding_params_takes_the_constructor_keywords():
    model = signature_model(Term.from_data, name="TermParams", exclude=("data",))
    assert list(model.model_fields) == ["attribute", "lam", "mode"]  # not the positional groups
    assert model.model_fields["lam"].description == "Strength ``λ >= 0``, on two lines."
    assert accepted_names(Term.from_data) == {"data", "attribute", "lam", "mode"}
    rows = {r["name"]: r for r in param_rows(model)}
    assert (
        rows["attribute"]["default"] == "(required)" and rows["mode"]["type"] == "one of 'a', 'b'"
    )


def test_validate_names_what_is_wrong():
    model = signature_model(Term.from_data, name="TermParams", exclude=("data",))
    assert validate(model, {"attribute": "g", "lam": 2}, where="w").lam == 2.0
    cases = [
        (
            {"attribute": "g", "lamb": 1},
            r"w: unknown parameter\(s\) \['lamb'\]; valid parameters are: attribute, lam, mode",
        ),
        ({}, r"w: missing required parameter\(s\) 'attribute' \(a string; Which attribute.\)"),
        ({"attribute": "g", "lam": "1"}, r"w: lam='1' is not valid: expected a number"),
        ({"attribute": "g", "mode": "c"}, r"w: mode='c' is not valid: expected one of 'a', 'b'"),
        ({"attribute": "g", "lam": True}, r"w: lam=True is not valid: expected a number"),
    ]
    for data, message in cases:
        with pytest.raises(ConfigError, match=message):
            validate(model, data, where="w")
    with pytest.raises(ConfigError, match="w: expected a table of parameters, got 3"):
        validate(model, 3, where="w")  # type: ignore[arg-type]


def test_bounds_and_tuples():
    class Section(Params):
        k: int = Field(1, ge=1)
        ks: tuple[int, ...] = (5,)

    assert validate(Section, {"ks": [1, 2]}, where="s").ks == (1, 2)  # TOML has no tuples
    with pytest.raises(ConfigError, match=r"s: k=0 is out of range: input should be greater"):
        validate(Section, {"k": 0}, where="s", noun="key")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['x'\]; valid keys are: k, ks"):
        validate(Section, {"x": 1}, where="s", noun="key")


def test_types_in_words_and_plain_text():
    assert describe(int | None) == "an integer or none"
    assert describe(list[str]) == "a list of strings"
    assert describe(dict[str, float]) == "a table of name -> number"
    assert plain("in ``(0, 1)``") == "in (0, 1)"
