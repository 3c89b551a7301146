"""Applying a training-time mitigation: a changed training split or a loss term on the model.

:func:`apply_training_mitigation` turns a method of
:data:`~equirec.mitigation.registry.TRAINING_METHODS` and its parameters, between the split and
``fit``, into a changed training split (pre-processing: ``reweight``, ``resample``; and ``ipw``,
which sets inverse-propensity weights) or a loss term attached to the model (in-processing:
``adversary``, ``group_gap``, ``exposure``, ``popularity``). Only the **training** part of the
split is ever changed; validation and test data, and the history the model ranks with at test
time, keep their original interactions. Values the run fixes are not parameters: the
adversary's ``dim`` is the model's and every seed is the run's.

Which models: loss terms and interaction weights act only in models trained by the shared
:class:`~equirec.training.trainer.Trainer` (those with ``add_loss_term``: BPR, SASRec,
BERT4Rec); the others (``pop``, ``itemknn``, ``ease``) count interactions, so for them only
``resample`` with ``sampling = "undersample"`` (which removes training interactions) has an
effect, and every other method is rejected with a message that says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError
from equirec.mitigation.registry import TRAINING_METHODS, Method, Stage
from equirec.models.base import Recommender
from equirec.params import accepted_names
from equirec.training.trainer import LossTermsMixin

__all__ = ["AppliedMitigation", "apply_training_mitigation", "check_model", "resolve_params"]


def _entry(method: Any, where: str) -> Method:
    if not isinstance(method, str) or method not in TRAINING_METHODS:
        raise ConfigError(
            f"{where}: unknown mitigation method {method!r}; choose one of: "
            f"{', '.join(TRAINING_METHODS)}"
        )
    return TRAINING_METHODS[method]


def resolve_params(
    method: str, params: Mapping[str, Any] | None, *, where: str = "[mitigation]"
) -> dict[str, Any]:
    """Check ``params`` of ``method`` and fill in the defaults.

    Returns:
        Every parameter of the method, in declaration order.

    Raises:
        ConfigError: Unknown method or parameter (the message lists the valid ones), a missing
            required parameter or a value of the wrong type.
    """
    entry = _entry(method, where)
    return entry.resolve(params, where=f"{where} {method!r}")


def _needs(entry: Method, params: Mapping[str, Any]) -> str | None:
    if entry.name == "resample" and params.get("sampling") == "undersample":
        return None  # removes interactions: every model sees that
    return entry.needs


def check_model(method: str, params: Mapping[str, Any], model: str | type[Recommender]) -> None:
    """Reject a method the model cannot honour, naming the model and those that can.

    Raises:
        ConfigError: The method adds a loss term or sets weights and the model does not train
            through the shared trainer, or ``positions = "all"`` for a non-sequential model.
    """
    from equirec.models.registry import available_models, model_class
    from equirec.models.sequential import SequentialRecommender

    entry = _entry(method, "[mitigation]")
    cls = model_class(model) if isinstance(model, str) else model
    supported = sorted(n for n in available_models() if issubclass(model_class(n), LossTermsMixin))
    needs = _needs(entry, params)
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


def _model_dim(model: Recommender) -> int:
    dim = getattr(model, "dim", None)
    if not isinstance(dim, int):
        raise ConfigError(
            f"mitigation 'adversary' needs the model's representation size, but model "
            f"{model.name!r} has no integer 'dim' parameter"
        )
    return dim


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
        method: A name in :data:`~equirec.mitigation.registry.TRAINING_METHODS`.
        params: Its parameters (checked, defaults filled in).
        seed: The run seed (re-sampling draws, the adversary's initialisation).

    Returns:
        The model and training data to fit, the term and what the method did.

    Raises:
        ConfigError: Unknown method or parameter, a model that cannot honour the method, or a
            value the method rejects (an unknown attribute: the message lists the dataset's).
        DataError: Data the method cannot use (e.g. a multi-valued attribute to re-weight by).
    """
    entry = _entry(method, "[mitigation]")
    p = resolve_params(method, params)
    check_model(method, p, type(model))
    factory = entry.implementation
    run_values: dict[str, Any] = {"seed": seed}
    if "dim" in entry.provides:
        run_values["dim"] = _model_dim(model)
    accepted = accepted_names(factory)
    kwargs = {**p, **{k: v for k, v in run_values.items() if k in accepted}}
    made = factory(train, **kwargs)
    term: nn.Module | None = None
    if isinstance(made, Dataset):
        train = made
        info = train.info
        details = dict(info["mitigation"]) if "mitigation" in info else {"ipw": info.get("ipw")}
    else:
        term = made
        if not isinstance(model, LossTermsMixin):  # pragma: no cover - check_model made sure
            raise ConfigError(f"model {model.name!r} does not take loss terms")
        model.add_loss_term(made)
        details = {"term": f"{type(made).__name__}({made.extra_repr()})"}
    return AppliedMitigation(
        method=method,
        stage=entry.stage,
        params=p,
        model=model,
        train=train,
        term=term,
        details=details,
    )
