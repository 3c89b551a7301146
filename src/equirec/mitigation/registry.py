"""The one place where a mitigation method is registered: re-rankers and training-time methods.

An entry names the method, its stage, one line of summary, where its implementation lives (an
import path, loaded only when used, so listing methods costs nothing), what builds its side
information and the fairness metric a sweep trades it against by default. Its **parameter
model** is derived from the implementation's typed keyword signature and docstring (plus the
side builder's options), never written a second time: see :func:`equirec.params.signature_model`.

The command line's method lists and parameter help, sweep defaults and the README's parameter
tables all read this registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from equirec.errors import ConfigError

if TYPE_CHECKING:
    from equirec.params import Params

__all__ = [
    "RERANKERS",
    "TRAINING_METHODS",
    "Method",
    "default_fairness",
    "method",
    "target_attributes",
]

Stage = Literal["pre", "in", "post"]


def load(path: str) -> Any:
    """The object at ``"package.module:Name.attr"``."""
    module, _, name = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Method:
    """A registered mitigation method.

    Attributes:
        name: Its name on the command line and in configs.
        stage: ``"pre"`` (changes the training data), ``"in"`` (acts while the model trains) or
            ``"post"`` (re-ranks finished lists).
        summary: One line.
        impl: Import path of the re-ranker class, or of the factory of a training-time method
            (``from_dataset`` of a loss term, or a function returning the changed training data).
        side: Import path of the side-information builder (re-rankers; see
            :mod:`equirec.mitigation.rerank.side`): its keyword options are parameters too.
        provides: Implementation arguments the side builder or the run supplies (not parameters).
        defaults: Parameter defaults that differ from the implementation's own in this context.
        fairness: Default fairness metric of a sweep (see :mod:`equirec.mitigation.tradeoff`).
        needs: What a training-time method needs of the model: ``"loss_term"``, ``"weights"``
            or ``None`` (any model).
        user_attribute: The parameter naming the user attribute the method balances.
        item_attribute: The parameter naming the item attribute it balances.
        side_param: A parameter (``by``) whose value ``"item"`` moves ``user_attribute`` to the
            item side.
    """

    name: str
    stage: Stage
    summary: str
    impl: str
    side: str | None = None
    provides: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict, hash=False)
    fairness: str = "tail_exposure_share"
    needs: Literal["loss_term", "weights"] | None = None
    user_attribute: str | None = None
    item_attribute: str | None = None
    side_param: str | None = None

    @property
    def implementation(self) -> Any:
        """The class or factory (imported on first use)."""
        return load(self.impl)

    @property
    def side_builder(self) -> Callable[..., tuple[dict[str, Any], dict[str, Any]]] | None:
        """The side-information builder, or ``None``."""
        return None if self.side is None else load(self.side)

    def params_model(self) -> type[Params]:
        """The typed parameter model (side options first, then the implementation's)."""
        return _params_model(self)

    def side_options(self) -> tuple[str, ...]:
        """Names of the parameters that go to the side builder."""
        side = _side_model(self)
        return () if side is None else tuple(side.model_fields)

    def resolve(
        self, params: Mapping[str, Any] | None, *, where: str | None = None
    ) -> dict[str, Any]:
        """Check ``params`` and fill in the defaults.

        Returns:
            Every parameter, by name (side options included).

        Raises:
            ConfigError: Unknown, missing or wrongly typed parameter (see :func:`validate`).
        """
        from equirec.params import validate

        kind = "re-ranker" if self.stage == "post" else "mitigation"
        model = validate(self.params_model(), params, where=where or f"{kind} {self.name!r}")
        return model.model_dump()


@cache
def _side_model(entry: Method) -> type[Params] | None:
    """The side builder's keyword options as a parameter model (``None`` without a builder)."""
    from equirec.params import signature_model

    builder = entry.side_builder
    if builder is None:
        return None
    return signature_model(builder, name="_", exclude=("known", "candidates"))


@cache
def _params_model(entry: Method) -> type[Params]:
    from pydantic import create_model

    from equirec.params import Params, signature_model

    exclude = set(entry.provides)
    fields: dict[str, Any] = {}
    side = _side_model(entry)
    if side is not None:
        fields.update({k: (f.annotation, f) for k, f in side.model_fields.items()})
    impl = signature_model(
        entry.implementation, name="_", exclude=exclude | set(fields), defaults=entry.defaults
    )
    fields.update({k: (f.annotation, f) for k, f in impl.model_fields.items()})

    title = "".join(part.capitalize() for part in entry.name.split("_")) + "Params"
    model: type[Params] = create_model(title, __base__=Params, **fields)
    return model


_RERANK = "equirec.mitigation.rerank"
_SIDE = f"{_RERANK}.side"
_INP = "equirec.mitigation.inprocessing"
_PRE = "equirec.mitigation.preprocessing"
_RUN = ("dataset", "seed")

RERANKERS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "fair",
            "post",
            "FA*IR: a minimum share of protected items in every prefix (Zehlike et al. 2017)",
            f"{_RERANK}.fair:FAIR",
            side=f"{_SIDE}:fair_side",
            provides=("protected",),
        ),
        Method(
            "detconstsort",
            "post",
            "DetConstSort: item groups at target shares down the list (Geyik et al. 2019)",
            f"{_RERANK}.detconstsort:DetConstSort",
            side=f"{_SIDE}:detconstsort_side",
            provides=("item_groups", "target", "labels"),
        ),
        Method(
            "calibrated",
            "post",
            "calibrated lists: genre shares close to the user's history (Steck 2018)",
            f"{_RERANK}.calibrated:Calibrated",
            side=f"{_SIDE}:calibrated_side",
            provides=("item_genres",),
            fairness="c_kl",
        ),
        Method(
            "mmr",
            "post",
            "maximal marginal relevance: diverse lists (Carbonell & Goldstein 1998)",
            f"{_RERANK}.mmr:MMR",
            side=f"{_SIDE}:mmr_side",
            provides=("item_features",),
            fairness="ild",
        ),
        Method(
            "ugf",
            "post",
            "user-oriented fairness: bound the active/inactive quality gap (Li et al. 2021)",
            f"{_RERANK}.ugf:UGF",
            side=f"{_SIDE}:ugf_side",
            provides=("user_groups",),
            # Its NDCG proxy is normalised by the ideal list of the same estimates, which the
            # model's own top k attains, so with score-based estimates it could never bind.
            defaults={"metric": "f1"},
            fairness="ugf_ndcg",
        ),
        Method(
            "cpfair",
            "post",
            "CPFair: consumer- and producer-side fairness together (Naghiaei et al. 2022)",
            f"{_RERANK}.cpfair:CPFair",
            side=f"{_SIDE}:cpfair_side",
            provides=("user_groups", "item_groups"),
        ),
    )
}
"""Re-rankers (post-processing), by name."""


def _rebalancing(name: str, summary: str) -> Method:
    """A pre-processing method of :mod:`equirec.mitigation.preprocessing` (same name there)."""
    return Method(
        name,
        "pre",
        summary,
        f"{_PRE}:{name}",
        provides=_RUN,
        defaults={"by": "user"},
        fairness="ndcg_gap",
        needs="weights",
        user_attribute="attribute",
        side_param="by",
    )


TRAINING_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        _rebalancing(
            "reweight",
            "re-weight training interactions so that attribute groups carry target shares",
        ),
        _rebalancing(
            "resample",
            "over- or under-sample training users/interactions towards target group shares",
        ),
        Method(
            "adversary",
            "in",
            "adversarial removal of user attributes from the user representation",
            f"{_INP}:AdversarialDebiasing.from_dataset",
            provides=(*_RUN, "dim"),
            fairness="leakage_auc",
            needs="loss_term",
            user_attribute="attributes",
        ),
        Method(
            "group_gap",
            "in",
            "penalise the gap in training loss between user groups",
            f"{_INP}:GroupGapPenalty.from_dataset",
            provides=_RUN,
            fairness="ndcg_gap",
            needs="loss_term",
            user_attribute="attribute",
        ),
        Method(
            "exposure",
            "in",
            "penalise the disparity of probability mass between item groups",
            f"{_INP}:ExposurePenalty.from_item_attribute",
            provides=_RUN,
            needs="loss_term",
            item_attribute="attribute",
        ),
        Method(
            "popularity",
            "in",
            "penalise the disparity of probability mass between head and long-tail items",
            f"{_INP}:PopularityPenalty.from_dataset",
            provides=_RUN,
            needs="loss_term",
        ),
        Method(
            "ipw",
            "in",
            "inverse-propensity weights on the training interactions (popularity debiasing)",
            f"{_INP}:ipw_weights",
            provides=(*_RUN, "popularity"),
            needs="weights",
        ),
    )
}
"""Training-time methods (pre- and in-processing) of a config's ``[mitigation]``, by name."""


def method(name: str) -> Method:
    """The registered method called ``name`` (a re-ranker or a training-time method).

    Raises:
        ConfigError: No such method; the message lists both kinds.
    """
    entry = RERANKERS.get(name) or TRAINING_METHODS.get(name)
    if entry is None:
        raise ConfigError(
            f"unknown method {name!r}; re-rankers: {', '.join(RERANKERS)}; training-time "
            f"methods: {', '.join(TRAINING_METHODS)}"
        )
    return entry


def target_attributes(name: str, params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The user attribute and the item attribute a method balances (``None`` where none).

    A list of attributes (the adversary's) counts by its first.
    """
    entry = method(name)
    user = _first(params.get(entry.user_attribute)) if entry.user_attribute else None
    item = _first(params.get(entry.item_attribute)) if entry.item_attribute else None
    if entry.side_param is not None and params.get(entry.side_param, "user") == "item":
        user, item = None, user
    return user, item


def _first(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else None
    return str(value)


def default_fairness(name: str, params: Mapping[str, Any] | None = None) -> str:
    """The fairness metric a sweep of ``name`` (with these parameters) trades by default.

    A method that balances an item attribute where it would otherwise read a user-group gap
    (``reweight`` / ``resample`` with ``by = "item"``) trades the exposure gap instead.
    """
    names = name.split("+")
    entry = RERANKERS.get(names[-1]) or TRAINING_METHODS.get(names[-1])
    if entry is None:
        return "tail_exposure_share"
    on_items = entry.side_param is not None and (params or {}).get(entry.side_param) == "item"
    if entry.fairness == "ndcg_gap" and on_items:
        return "exposure_gap"
    return entry.fairness


STAGES: dict[str, str] = {"pre": "pre-processing", "in": "in-processing", "post": "re-ranking"}
"""A stage in words."""


def markdown(name: str | None = None) -> str:
    """The methods and their parameters as Markdown: what ``equirec methods --markdown`` prints.

    Without ``name``: a table of every method (name, stage, summary, default sweep metric), then
    one parameter table per method (parameter, type, default, meaning), as in the README. With
    ``name``: that method's parameter table only. Builds each parameter model, so it imports the
    methods' modules (torch included).

    Raises:
        ConfigError: ``name`` is no registered method.
    """
    import re

    from equirec.params import param_rows

    def cell(text: str) -> str:
        text = re.sub(r"``(.+?)``", r"`\1`", text)
        text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
        return text.replace("|", "\\|")

    def section(entry: Method) -> list[str]:
        lines = [
            f"#### `{entry.name}` ({STAGES[entry.stage]})",
            "",
            f"{cell(entry.summary[:1].upper() + entry.summary[1:])}.",
            "",
            "| parameter | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for row in param_rows(entry.params_model()):
            default = row["default"]
            default = default if default == "(required)" else f"`{default}`"
            lines.append(
                f"| `{row['name']}` | {cell(row['type'])} | {cell(default)} | "
                f"{cell(row['meaning'])} |"
            )
        return [*lines, ""]

    if name is not None:
        return "\n".join(section(method(name)))
    entries = (*TRAINING_METHODS.values(), *RERANKERS.values())
    lines = [
        "### Methods and their parameters",
        "",
        "| method | stage | what it does | a sweep trades by default |",
        "|---|---|---|---|",
        *(
            f"| `{m.name}` | {STAGES[m.stage]} | {cell(m.summary)} | `{m.fairness}` |"
            for m in entries
        ),
        "",
    ]
    for entry in entries:
        lines += section(entry)
    return "\n".join(lines)
