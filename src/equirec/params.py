"""Typed parameters: pydantic models that reject unknown keys, and messages a user can act on.

Two ways to get a parameter model, one source of truth each:

* a hand-written model (the run config's sections) deriving from :class:`Params`;
* :func:`signature_model`, which derives the model from a typed keyword-only signature (a
  re-ranker's constructor, a mitigation's ``from_dataset``) and its Google docstring, so a
  parameter list is never written twice. Range checks stay with the code that owns the value
  (the constructor raises :class:`~equirec.errors.ConfigError` naming it).

:func:`validate` turns a mapping into a model instance and any
:class:`pydantic.ValidationError` into one :class:`~equirec.errors.ConfigError` naming the key,
the value given and what is valid. Validation is strict: ``"1"`` is not a number and ``true`` is
not an integer (a list is accepted where a tuple is expected, as TOML and JSON have no tuples).
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic.fields import FieldInfo

from equirec.errors import ConfigError

__all__ = [
    "Params",
    "accepted_names",
    "describe",
    "docstring_args",
    "param_rows",
    "plain",
    "signature_model",
    "validate",
]

M = TypeVar("M", bound=BaseModel)

STRICT = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)


class Params(BaseModel):
    """Base of equirec's parameter models: unknown keys rejected, no silent type coercion."""

    model_config = STRICT


def docstring_args(func: Callable[..., Any]) -> dict[str, str]:
    """Argument descriptions from the ``Args:`` section of a Google-style docstring.

    Args:
        func: A function or class (a class's docstring holds its constructor's ``Args:``).

    Returns:
        Argument name -> its description on one line (continuation lines joined).
    """
    doc = inspect.getdoc(func) or ""
    out: dict[str, str] = {}
    inside, current = False, None
    for line in doc.splitlines():
        if not line.strip():
            current = None if inside and not current else current
            continue
        if re.match(r"^(Args|Arguments|Parameters):\s*$", line):
            inside, current = True, None
            continue
        if inside and not line.startswith(" "):
            break  # the next section
        if not inside:
            continue
        m = re.match(r"^ {4}(\*{0,2}\w+)(?: \([^)]*\))?:\s*(.*)$", line)
        if m:
            names = [n.strip() for n in m.group(1).split(",")]
            current = names[0].lstrip("*")
            out[current] = m.group(2).strip()
        elif current is not None:
            out[current] = f"{out[current]} {line.strip()}".strip()
    return out


def signature_model(
    func: Callable[..., Any],
    *,
    name: str,
    exclude: Iterable[str] = (),
    defaults: Mapping[str, Any] | None = None,
) -> type[Params]:
    """The parameter model of ``func``'s keyword parameters, from its annotations and docstring.

    Args:
        func: A function, method or class (its ``__init__``); parameters must be annotated.
        name: The model's name (shown in messages).
        exclude: Parameters not set by the user (side information, the run's seed...).
        defaults: Defaults that replace the signature's (e.g. where a workflow fixes one).

    Returns:
        A :class:`Params` subclass with one field per remaining parameter, in signature order,
        required where the signature has no default, described by the docstring's ``Args:``.
    """
    skip = {"self", "cls", *exclude}
    fields: dict[str, Any] = {}
    for target, docs, keyword_only in _signatures(func):
        hints = _hints(target)
        for param in inspect.signature(target).parameters.values():
            if param.name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if keyword_only and param.kind is not param.KEYWORD_ONLY:
                continue  # filled in by the factory (e.g. the groups it builds)
            default = (defaults or {}).get(param.name, param.default)
            annotation = hints.get(param.name, Any)
            info = FieldInfo(
                annotation=annotation,
                default=... if default is inspect.Parameter.empty else default,
                description=docs.get(param.name, ""),
            )
            fields[param.name] = (annotation, info)
    model: type[Params] = create_model(name, __base__=Params, **fields)
    return model


def _signatures(
    func: Callable[..., Any],
) -> list[tuple[Callable[..., Any], dict[str, str], bool]]:
    """The callables whose parameters ``func`` takes: ``(callable, argument docs, keyword only)``.

    A class contributes its ``__init__`` and, while an ``__init__`` passes ``**kwargs`` on, the
    next one up its MRO (bases first in the result). A factory classmethod that takes
    ``**params`` forwards them to its class's constructor, so the constructor's keyword-only
    parameters are the factory's too: no parameter list is written twice.
    """
    if inspect.isclass(func):
        chain = []
        for klass in func.__mro__:
            init = vars(klass).get("__init__")
            if init is None or klass is object:
                continue
            chain.append((init, {**docstring_args(init), **docstring_args(klass)}, False))
            if not _has_var_keyword(init):
                break
        return chain[::-1]
    out = [(func, docstring_args(func), False)]
    owner = getattr(func, "__self__", None)
    if inspect.isclass(owner) and _has_var_keyword(func):
        out += [(init, docs, True) for init, docs, _ in _signatures(owner)]
    return out


def _has_var_keyword(func: Callable[..., Any]) -> bool:
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(func).parameters.values()
    )


def accepted_names(func: Callable[..., Any]) -> set[str]:
    """Every keyword ``func`` accepts, following forwarded ``**kwargs``."""
    return {
        name
        for target, _, keyword_only in _signatures(func)
        for name, p in inspect.signature(target).parameters.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and (p.kind is p.KEYWORD_ONLY or not keyword_only)
    }


def _hints(target: Callable[..., Any]) -> dict[str, Any]:
    try:
        return get_type_hints(target)
    except (NameError, TypeError):  # annotations naming what only type checkers import
        return {}


def validate(
    model: type[M], data: Mapping[str, Any] | None, *, where: str, noun: str = "parameter"
) -> M:
    """Validate ``data`` into ``model``; every problem becomes one clear :class:`ConfigError`.

    Args:
        model: The parameter model.
        data: The values given (``None``: none).
        where: What is being configured, for the message (e.g. ``"re-ranker 'fair'"``).
        noun: What an entry is called in messages (``"parameter"``, ``"key"``).

    Raises:
        ConfigError: Unknown key (the valid ones listed), missing required key (with its
            meaning), wrong type or value (the value given and what is expected).
    """
    if data is not None and not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of parameters, got {data!r}")
    values = _tuples(model, dict(data or {}))
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_message(model, err, values, where, noun)) from None


def _tuples(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Lists given where the field is a tuple become tuples (TOML and JSON have no tuples)."""
    for key, value in values.items():
        field = model.model_fields.get(key)
        if field is not None and isinstance(value, list) and _accepts_tuple(field.annotation):
            values[key] = tuple(value)
    return values


def _accepts_tuple(annotation: Any) -> bool:
    if get_origin(annotation) is tuple or annotation is tuple:
        return True
    return get_origin(annotation) in (Union, types.UnionType) and any(
        _accepts_tuple(a) for a in get_args(annotation)
    )


def _message(
    model: type[BaseModel], err: ValidationError, values: dict[str, Any], where: str, noun: str
) -> str:
    fields = model.model_fields
    errors = err.errors()
    unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        return (
            f"{where}: unknown {noun}(s) {sorted(unknown)}; valid {noun}s are: "
            f"{', '.join(fields) or '(none)'}"
        )
    missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing"]
    if missing:
        parts = [f"{m!r} ({_meaning(fields[m])})" for m in missing]
        return f"{where}: missing required {noun}(s) {', '.join(parts)}"
    first = errors[0]
    key = str(first["loc"][0]) if first["loc"] else ""
    field = fields.get(key)
    given = values.get(key, first.get("input"))
    if first["type"] in ("value_error", "assertion_error") or field is None:
        return f"{where}: {key}={given!r}: {first['msg']}"
    expected = describe(field.annotation)
    ranges = [
        e["msg"]
        for e in errors
        if e["loc"][:1] == (key,) and e["type"].startswith(("greater", "less"))
    ]
    if ranges:
        return f"{where}: {key}={given!r} is out of range: {ranges[0].lower()}"
    return f"{where}: {key}={given!r} is not valid: expected {expected}"


def plain(doc: str) -> str:
    """Docstring text for a terminal or a message: RST double-backquote markers dropped."""
    return doc.replace("``", "")


def _meaning(field: FieldInfo) -> str:
    return "; ".join(filter(None, [describe(field.annotation), plain(field.description or "")]))


def describe(annotation: Any) -> str:
    """A type in words: ``'a number'``, ``"one of 'auto', 'last'"``, ``'a list of strings'``."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        parts = [describe(a) for a in get_args(annotation)]
        return " or ".join(dict.fromkeys(parts))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(annotation))
    if annotation is type(None) or annotation is None:
        return "none"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    if annotation is str:
        return "a string"
    if origin in (list, tuple, Sequence, Iterable) or annotation in (list, tuple):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        inner = describe(args[0]) if args else "values"
        return f"a list of {_plural(inner)}"
    if origin in (dict, Mapping):
        pair = get_args(annotation)
        value = describe(pair[1]) if len(pair) == 2 else "values"
        return f"a table of name -> {value.removeprefix('a ').removeprefix('an ')}"
    return getattr(annotation, "__name__", str(annotation))


def _plural(text: str) -> str:
    for article in ("a ", "an "):
        if text.startswith(article):
            return text[len(article) :] + "s"
    return text


def param_rows(model: type[BaseModel]) -> list[dict[str, str]]:
    """One row per parameter: ``name``, ``type`` (in words), ``default`` and ``meaning``."""
    rows = []
    for key, field in model.model_fields.items():
        default = "(required)" if field.is_required() else repr(field.default)
        rows.append(
            {
                "name": key,
                "type": describe(field.annotation),
                "default": default,
                "meaning": field.description or "",
            }
        )
    return rows
