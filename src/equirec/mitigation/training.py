"""Training-time mitigation from a run config: the ``[mitigation]`` section made into objects.

A run config names one method and its parameters::

    [mitigation]
    method = "adversary"
    params = { attributes = ["gender"], lam = 1.0 }

and :func:`apply_training_mitigation` turns it, between the split and ``fit``, into a changed
training split (pre-processing: ``reweight``, ``resample``; and ``ipw``, which sets inverse-
propensity weights) or a loss term attached to the model (in-processing: ``adversary``,
``group_gap``, ``exposure``, ``popularity``). Only the **training** part of the split is ever
changed; validation and test data, and the history the model ranks with at test time, keep
their original interactions.

Every method's parameters, their defaults and types are declared in :data:`TRAINING_METHODS`;
:func:`resolve_params` checks a config against them (unknown method or parameter, wrong type or
value: :class:`~equirec.errors.ConfigError` naming it and listing the valid ones) and fills in
the defaults, so a run records exactly what it used. Values the run already fixes are not
parameters: the adversary's ``dim`` is the model's and every seed is the run's.

Which models: loss terms and interaction weights act only in models trained by the shared
:class:`~equirec.training.trainer.Trainer` (those with ``add_loss_term``: BPR, SASRec,
BERT4Rec); the others (``pop``, ``itemknn``, ``ease``) count interactions, so for them only
``resample`` with ``sampling = "undersample"`` (which removes training interactions) has an
effect, and every other method is rejected with a message that says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import nn

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError
from equirec.models.base import Recommender
from equirec.training.trainer import LossTermsMixin

__all__ = [
    "TRAINING_METHODS",
    "AppliedMitigation",
    "MethodSpec",
    "Param",
    "apply_training_mitigation",
    "check_model",
    "resolve_params",
    "target_attributes",
]

Stage = Literal["pre", "in"]
Kind = Literal["number", "int", "int_or_none", "bool", "str", "strs", "target"]

_REQUIRED: Any = object()


@dataclass(frozen=True)
class Param:
    """One parameter of a training-time method.

    Attributes:
        kind: Its type: ``number`` (int or float), ``int``, ``int_or_none``, ``bool``, ``str``,
            ``strs`` (a string or a list of strings) or ``target`` (``"balanced"`` or a table of
            group label -> share).
        default: Its default (:data:`_REQUIRED` when it must be given).
        choices: The allowed values of a ``str`` parameter (empty: any).
        doc: One line for messages and documentation.
    """

    kind: Kind
    default: Any = _REQUIRED
    choices: tuple[str, ...] = ()
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


@dataclass(frozen=True)
class MethodSpec:
    """A training-time mitigation method: its stage, what it needs of the model, its parameters.

    Attributes:
        name: The config name (``method = "..."``).
        stage: ``"pre"`` (changes the training data) or ``"in"`` (acts while the model trains).
        summary: One line.
        params: Parameter name -> :class:`Param`.
        needs: What the model must honour: ``"loss_term"`` (``add_loss_term``), ``"weights"``
            (per-example weights) or ``None`` (any model).
    """

    name: str
    stage: Stage
    summary: str
    params: Mapping[str, Param] = field(default_factory=dict)
    needs: str | None = "weights"


_TARGET = Param(
    "target", "balanced", doc='"balanced" (equal shares) or a table group label -> share'
)
_BY = Param("str", "user", ("user", "item"), "whose attribute groups the interactions")
_LAM = Param("number", 1.0, doc="strength λ >= 0")
_TEMPERATURE = Param("number", 1.0, doc="softmax temperature > 0")
_MAX_USERS = Param("int_or_none", 256, doc="distinct users of a batch used")

TRAINING_METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "reweight",
            "pre",
            "re-weight training interactions so that attribute groups carry target shares",
            {
                "by": _BY,
                "attribute": Param("str", doc="user/item attribute (or activity, popularity)"),
                "target": _TARGET,
                "normalise": Param("bool", True, doc="rescale the weights to mean 1"),
            },
        ),
        MethodSpec(
            "resample",
            "pre",
            "over- or under-sample training users/interactions towards target group shares",
            {
                "by": _BY,
                "attribute": Param("str", doc="user/item attribute (or activity, popularity)"),
                "target": _TARGET,
                "sampling": Param("str", "oversample", ("oversample", "undersample")),
            },
        ),
        MethodSpec(
            "adversary",
            "in",
            "adversarial removal of user attributes from the user representation",
            {
                "attributes": Param("strs", doc="categorical user attribute(s)"),
                "lam": _LAM,
                "hidden": Param("int", 64, doc="hidden units of each discriminator (0: linear)"),
                "balanced": Param("bool", True, doc="weight classes inversely to their size"),
                "disc_steps": Param("int", 0, doc="extra discriminator updates per step"),
                "disc_lr": Param("number", 1e-3, doc="learning rate of those updates"),
                "positions": Param("str", "auto", ("auto", "last", "all")),
            },
            needs="loss_term",
        ),
        MethodSpec(
            "group_gap",
            "in",
            "penalise the gap in training loss between user groups",
            {
                "attribute": Param("str", doc="categorical user attribute"),
                "lam": _LAM,
                "aggregate": Param("str", "mad", ("mad", "variance")),
                "smoothing": Param("number", 0.9, doc="running-mean factor in [0, 1)"),
                "raise_better": Param("bool", False, doc="also raise better-served groups' loss"),
            },
            needs="loss_term",
        ),
        MethodSpec(
            "exposure",
            "in",
            "penalise the disparity of probability mass between item groups",
            {
                "attribute": Param("str", doc="categorical item attribute (e.g. provider)"),
                "lam": _LAM,
                "temperature": _TEMPERATURE,
                "max_users": _MAX_USERS,
            },
            needs="loss_term",
        ),
        MethodSpec(
            "popularity",
            "in",
            "penalise the disparity of probability mass between head and long-tail items",
            {
                "lam": _LAM,
                "head": Param("str", "share", ("share", "top"), "how the head is cut"),
                "cutoff": Param("number", 0.8, doc="share of interactions / items in the head"),
                "temperature": _TEMPERATURE,
                "max_users": _MAX_USERS,
            },
            needs="loss_term",
        ),
        MethodSpec(
            "ipw",
            "in",
            "inverse-propensity weights on the training interactions (popularity debiasing)",
            {
                "eta": Param("number", 0.5, doc="exponent of the propensity"),
                "clip": Param("number", 10.0, doc="largest weight ratio, >= 1"),
                "normalize": Param("bool", True, doc="keep the mean weight"),
            },
        ),
    )
}
"""The training-time methods of the ``[mitigation]`` section, by config name."""


def _method(method: Any, where: str) -> MethodSpec:
    if not isinstance(method, str) or method not in TRAINING_METHODS:
        raise ConfigError(
            f"{where}: unknown mitigation method {method!r}; choose one of: "
            f"{', '.join(TRAINING_METHODS)}"
        )
    return TRAINING_METHODS[method]


def resolve_params(
    method: str, params: Mapping[str, Any], *, where: str = "[mitigation]"
) -> dict[str, Any]:
    """Check ``params`` of ``method`` and fill in the defaults.

    Args:
        method: A name in :data:`TRAINING_METHODS`.
        params: The parameters given.
        where: Where they come from, for messages (``"[mitigation]"``, a file name...).

    Returns:
        Every parameter of the method, in declaration order (lists of attributes as lists).

    Raises:
        ConfigError: Unknown method or parameter (the message lists the valid ones), a missing
            required parameter, a value of the wrong type or not among the choices.
    """
    spec = _method(method, where)
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        raise ConfigError(
            f"{where}: unknown parameter(s) {unknown} for mitigation {method!r}; its parameters "
            f"are: {', '.join(spec.params)}"
        )
    missing = [name for name, p in spec.params.items() if p.required and name not in params]
    if missing:
        raise ConfigError(
            f"{where}: mitigation {method!r} needs {', '.join(repr(m) for m in missing)} in its "
            f"params, e.g. params = {{ {missing[0]} = {_example(spec.params[missing[0]])} }}"
        )
    out: dict[str, Any] = {}
    for name, p in spec.params.items():
        value = params.get(name, p.default)
        out[name] = _check(value, p, f"{where} {method}.{name}")
    return out


def _example(p: Param) -> str:
    return '["gender"]' if p.kind == "strs" else '"gender"'


_EXPECTED = {
    "number": "a number",
    "int": "an integer",
    "int_or_none": "an integer",
    "bool": "true or false",
    "str": "a string",
    "strs": "a string or a list of strings",
    "target": '"balanced" or a table of group label -> share',
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _valid(kind: Kind, value: Any) -> bool:
    if kind == "number":
        return _is_number(value) and not math.isnan(float(value))
    if kind in ("int", "int_or_none"):
        if value is None:
            return kind == "int_or_none"
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "strs":
        if isinstance(value, str):
            return True
        return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    # target
    if isinstance(value, Mapping):
        return all(_is_number(v) for v in value.values())
    return value == "balanced"


def _check(value: Any, p: Param, path: str) -> Any:
    if not _valid(p.kind, value):
        raise ConfigError(f"{path} has the wrong type: {value!r} (expected {_EXPECTED[p.kind]})")
    if p.choices and value not in p.choices:
        raise ConfigError(
            f"{path} must be one of {', '.join(repr(c) for c in p.choices)}, not {value!r}"
        )
    if p.kind == "number":
        return float(value)
    if p.kind == "target" and isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    return value


def _needs(spec: MethodSpec, params: Mapping[str, Any]) -> str | None:
    if spec.name == "resample" and params.get("sampling") == "undersample":
        return None  # removes interactions: every model sees that
    return spec.needs


def check_model(method: str, params: Mapping[str, Any], model: str | type[Recommender]) -> None:
    """Reject a method the model cannot honour, naming the model and those that can.

    Args:
        method: A name in :data:`TRAINING_METHODS`.
        params: Its (resolved) parameters.
        model: A model name or class.

    Raises:
        ConfigError: The method adds a loss term or sets weights and the model does not train
            through the shared trainer, or ``positions = "all"`` for a non-sequential model.
    """
    from equirec.models.registry import available_models, model_class
    from equirec.models.sequential import SequentialRecommender

    spec = _method(method, "[mitigation]")
    cls = model_class(model) if isinstance(model, str) else model
    supported = sorted(n for n in available_models() if issubclass(model_class(n), LossTermsMixin))
    needs = _needs(spec, params)
    if needs is not None and not issubclass(cls, LossTermsMixin):
        if needs == "loss_term":
            why = "adds a loss term to training, which"
        else:
            why = "changes the training interactions' weights, which"
        extra = ' (or resample with sampling = "undersample")' if needs == "weights" else ""
        raise ConfigError(
            f"mitigation {method!r} {why} model {cls.name!r} does not support (it is not "
            f"trained by gradient steps); use one of: {', '.join(supported)}{extra}"
        )
    if (
        method == "adversary"
        and params.get("positions") == "all"
        and not issubclass(cls, SequentialRecommender)
    ):
        raise ConfigError(
            f"mitigation 'adversary': positions = \"all\" reads the hidden state of every "
            f"position of a sequence model; model {cls.name!r} has one vector per user: use "
            'positions = "last"'
        )


def target_attributes(method: str, params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The user attribute and the item attribute a method balances (``None`` where none).

    ``adversary``: its first attribute; ``group_gap``: its attribute; ``reweight`` /
    ``resample``: their attribute, on the side ``by`` says; ``exposure``: its item attribute;
    ``popularity`` and ``ipw``: none (they act on head vs long tail).
    """
    if method == "adversary":
        attrs = params.get("attributes")
        first = attrs if isinstance(attrs, str) else (attrs[0] if attrs else None)
        return (None if first is None else str(first)), None
    if method == "group_gap":
        return _opt_str(params.get("attribute")), None
    if method in ("reweight", "resample"):
        attr = _opt_str(params.get("attribute"))
        return (attr, None) if params.get("by", "user") == "user" else (None, attr)
    if method == "exposure":
        return None, _opt_str(params.get("attribute"))
    return None, None


def _model_dim(model: Recommender) -> int:
    dim = getattr(model, "dim", None)
    if not isinstance(dim, int):
        raise ConfigError(
            f"mitigation 'adversary' needs the model's representation size, but model "
            f"{model.name!r} has no integer 'dim' parameter"
        )
    return dim


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass
class AppliedMitigation:
    """What :func:`apply_training_mitigation` did.

    Attributes:
        method: The method's name.
        stage: ``"pre"`` or ``"in"``.
        params: The resolved parameters.
        model: The model to fit (the term, if any, attached).
        train: The training data to fit on (changed by ``reweight``, ``resample``, ``ipw``).
        term: The loss term attached to the model, or ``None``.
        details: What the method reports about the data (group shares and factors, dropped
            interactions...), JSON-ready.
    """

    method: str
    stage: Stage
    params: dict[str, Any]
    model: Recommender
    train: Dataset
    term: nn.Module | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The JSON-ready record of a run's ``metrics.json`` (``mitigation`` key).

        Keys: ``method``, ``stage``, ``params``, ``details`` and, once the model is fitted,
        ``final_losses`` of the adversary's discriminators (per attribute).
        """
        out: dict[str, Any] = {
            "method": self.method,
            "stage": self.stage,
            "params": dict(self.params),
            "details": self.details,
        }
        last = getattr(self.term, "last_losses", None)
        if last:
            out["final_losses"] = {k: float(v) for k, v in last.items()}
        return out


def apply_training_mitigation(
    model: Recommender,
    train: Dataset,
    *,
    method: str,
    params: Mapping[str, Any],
    seed: int,
) -> AppliedMitigation:
    """Apply a training-time mitigation: change the training data or attach a loss term.

    Call it after the split and before ``model.fit(result.train)``; pass the **training** part
    only (validation and test data are never changed).

    Args:
        model: The unfitted model (BPR, SASRec or BERT4Rec for loss terms and weights).
        train: The training split.
        method: A name in :data:`TRAINING_METHODS`.
        params: Its parameters (checked, defaults filled in).
        seed: The run seed (re-sampling draws, the adversary's initialisation).

    Returns:
        The model and training data to fit, the term and what the method did.

    Raises:
        ConfigError: Unknown method or parameter, a model that cannot honour the method, or a
            value the method rejects (an unknown attribute: the message lists the dataset's).
        DataError: Data the method cannot use (e.g. a multi-valued attribute to re-weight by).
    """
    from equirec.mitigation import inprocessing as inp
    from equirec.mitigation.preprocessing import resample, reweight

    p = resolve_params(method, params)
    check_model(method, p, type(model))
    spec = TRAINING_METHODS[method]
    term: nn.Module | None = None
    details: dict[str, Any] = {}
    if method == "reweight":
        train = reweight(
            train,
            by=p["by"],
            attribute=p["attribute"],
            target=p["target"],
            normalise=p["normalise"],
        )
        details = dict(train.info.get("mitigation", {}))
    elif method == "resample":
        train = resample(
            train,
            by=p["by"],
            attribute=p["attribute"],
            target=p["target"],
            seed=seed,
            method=p["sampling"],
        )
        details = dict(train.info.get("mitigation", {}))
    elif method == "ipw":
        train = inp.ipw_weights(train, eta=p["eta"], clip=p["clip"], normalize=p["normalize"])
        details = {"ipw": train.info.get("ipw")}
    elif method == "adversary":
        term = inp.AdversarialDebiasing.from_dataset(
            train,
            attributes=p["attributes"],
            dim=_model_dim(model),
            lam=p["lam"],
            hidden=p["hidden"],
            balanced=p["balanced"],
            seed=seed,
            disc_steps=p["disc_steps"],
            disc_lr=p["disc_lr"],
            positions=p["positions"],
        )
    elif method == "group_gap":
        term = inp.GroupGapPenalty.from_dataset(
            train,
            attribute=p["attribute"],
            lam=p["lam"],
            aggregate=p["aggregate"],
            smoothing=p["smoothing"],
            raise_better=p["raise_better"],
        )
    elif method == "exposure":
        term = inp.ExposurePenalty.from_item_attribute(
            train,
            p["attribute"],
            lam=p["lam"],
            temperature=p["temperature"],
            max_users=p["max_users"],
        )
    elif method == "popularity":
        term = inp.PopularityPenalty.from_dataset(
            train,
            lam=p["lam"],
            method=p["head"],
            cutoff=p["cutoff"],
            temperature=p["temperature"],
            max_users=p["max_users"],
        )
    else:  # pragma: no cover - every method of TRAINING_METHODS is handled above
        raise ConfigError(f"mitigation {method!r} is declared but not implemented")
    if term is not None:
        if not isinstance(model, LossTermsMixin):  # pragma: no cover - check_model made sure
            raise ConfigError(f"model {model.name!r} does not take loss terms")
        model.add_loss_term(term)
        details = {"term": f"{type(term).__name__}({term.extra_repr()})"}
    return AppliedMitigation(
        method=method,
        stage=spec.stage,
        params=p,
        model=model,
        train=train,
        term=term,
        details=details,
    )
