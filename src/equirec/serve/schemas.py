"""The service's typed requests and responses (pydantic, unknown keys rejected).

They document the API (FastAPI turns them into the OpenAPI schema at ``/openapi.json``) and
validate every request before it reaches the run: a missing or wrong-typed field is a 422 that
names it. Ids are strings or integers, matched against the run's vocabularies by their text.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from equirec.explain.methods import METHODS

__all__ = [
    "MAX_EXPLAINED",
    "MAX_HISTORY",
    "AuditInfo",
    "ExplainRequest",
    "ExplainResponse",
    "Finding",
    "Health",
    "ItemInfo",
    "ItemRef",
    "ModelInfo",
    "Policy",
    "RankedItem",
    "Reason",
    "RecommendRequest",
    "RecommendResponse",
    "RunInfo",
    "ServicePolicy",
    "UserHistory",
    "UserList",
]

MAX_HISTORY = 10_000
"""Items one history may hold (the body limit bounds it too)."""

MAX_EXPLAINED = 50
"""The most past items an explanation names (``top``) or removes (``max_size``)."""

Id = Annotated[StrictStr, Field(min_length=1, max_length=256)] | StrictInt
"""A user or item id as sent: text or an integer."""


def _known_method(value: str) -> str:
    if value not in METHODS:
        choices = ", ".join(METHODS)
        raise ValueError(f"unknown explanation method {value!r}; choose one of {choices}")
    return value


ExplainMethod = Annotated[
    StrictStr,
    AfterValidator(_known_method),
    WithJsonSchema({"type": "string", "enum": list(METHODS)}),
]
"""An explanation method of :data:`equirec.explain.methods.METHODS`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Policy(_Strict):
    """A re-ranker and its parameters (``equirec methods NAME`` lists them)."""

    method: Annotated[StrictStr, Field(min_length=1, max_length=200)] = Field(
        description='a re-ranker, e.g. "fair" or the chain "calibrated+fair"'
    )
    params: dict[str, JsonValue] = Field(
        default_factory=dict, description='its parameters, e.g. {"p": 0.4}'
    )


class ServicePolicy(Policy):
    """The service's own policy (``equirec serve --policy FILE.toml``): the re-ranker applied
    to every known user's list whose request names no policy of its own."""

    depth: StrictInt | None = Field(
        default=None, gt=0, description="candidates it re-ranks (default 100)"
    )


class RecommendRequest(_Strict):
    """Who to rank: a user the run knows, or a new user or session given by its items."""

    user: Id | None = Field(default=None, description="a user id the run knows")
    history: list[Id] | None = Field(
        default=None,
        max_length=MAX_HISTORY,
        description="item ids of a new user or session, oldest first (they are excluded)",
    )
    k: StrictInt = Field(default=10, gt=0, description="list length (at most the catalogue)")
    policy: Policy | None = Field(
        default=None,
        description="re-rank a known user's top `depth` with this re-ranker; left out, the "
        "service's policy applies (where it has one); null asks for the model's list",
    )
    depth: StrictInt | None = Field(
        default=None,
        gt=0,
        description="candidates the policy re-ranks (default 100, at most the catalogue)",
    )

    @model_validator(mode="after")
    def _one_of(self) -> RecommendRequest:
        if (self.user is None) == (self.history is None):
            raise ValueError("give exactly one of user (an id the run knows) or history (item ids)")
        return self


class RankedItem(_Strict):
    """One recommended item."""

    item: StrictStr | StrictInt
    rank: int = Field(description="1-based")
    score: float | None = Field(description="the model's score (popularity for a fallback)")
    title: str | None = Field(default=None, description="the item's title, when the data has one")


class RecommendResponse(_Strict):
    """The ranked list, with what was decided on the way."""

    user: StrictStr | StrictInt | None = Field(description="the user asked for; null for a history")
    items: list[RankedItem]
    policy: Policy | None
    notes: list[str] = Field(description="plain-language notes (a fallback, an unmet guarantee)")


class ExplainRequest(_Strict):
    """Which recommendation of a known user to explain, and how."""

    user: Id = Field(description="a user id the run knows")
    item: Id | None = Field(
        default=None, description="an item of the user's top `k` (default: the first)"
    )
    k: StrictInt = Field(default=10, gt=0, description="list length (at most the catalogue)")
    method: ExplainMethod | None = Field(
        default=None,
        description="counterfactual (the fewest past items whose removal takes the item out of "
        "the list), loo, ig or attention (sequence models), model (a baseline's own weights); "
        "default: counterfactual for models that score from the history, model for the rest",
    )
    top: StrictInt = Field(
        default=5, ge=1, le=MAX_EXPLAINED, description="past items an attribution names"
    )
    max_size: StrictInt = Field(
        default=10, ge=1, le=MAX_EXPLAINED, description="the largest counterfactual set tried"
    )


class Reason(_Strict):
    """A past item an explanation names."""

    item: StrictStr | StrictInt
    title: str | None = Field(description="its title, null when the data has none")
    position: int = Field(description="its place in the user's history (0 = oldest)")
    effect: float = Field(
        description="its attribution (counterfactual: the score its removal alone takes away)"
    )
    removed: bool = Field(description="whether it is in the counterfactual set")


class ExplainResponse(_Strict):
    """Why an item is in a user's list: in words, and the past items behind it."""

    user: StrictStr | StrictInt = Field(description="the user asked for")
    item: StrictStr | StrictInt = Field(description="the item explained")
    title: str | None = Field(description="its title, null when the data has none")
    rank: int = Field(description="its 1-based rank in the user's list")
    k: int = Field(description="the list length")
    model: str
    method: str = Field(description="the method used")
    valid: bool | None = Field(
        description="whether removing the counterfactual set takes the item out of the list "
        "(null for attributions)"
    )
    rank_after: int | None = Field(
        description="its 1-based rank without the counterfactual set (null for attributions)"
    )
    text: str = Field(description="the explanation in words")
    reasons: list[Reason]


class ItemInfo(_Strict):
    """A catalogue item: its attributes (title when the dataset has one)."""

    item: StrictStr | StrictInt
    title: str | None
    attributes: dict[str, JsonValue]
    popularity: int = Field(description="interactions the run knew (training, then validation)")


class ItemRef(_Strict):
    """An item and its title (``null`` when the data has none)."""

    item: StrictStr | StrictInt
    title: str | None


class UserList(_Strict):
    """Some of the users the run knows, in the order of its vocabulary."""

    total: int = Field(description="users that match (all the run knows without a query)")
    users: list[StrictStr | StrictInt] = Field(description="the first `limit` of them")


class UserHistory(_Strict):
    """A known user's known history (training, then validation), most recent first."""

    user: StrictStr | StrictInt
    total: int = Field(description="interactions the run knows of the user")
    items: list[ItemRef] = Field(description="the most recent `limit` of them, newest first")


class Health(_Strict):
    """The service is up and its run loaded."""

    status: str
    model: str
    users: int
    items: int


class ModelInfo(_Strict):
    """The run's model."""

    name: str
    params: dict[str, JsonValue]


class Finding(_Strict):
    """One headline finding of the run's fairness audit."""

    side: str
    attribute: str
    metric: str
    text: str
    significant: bool


class AuditInfo(_Strict):
    """The audit's headline findings (``audit.json``'s primary findings)."""

    schema_version: str | None
    significant: int = Field(description="significant findings in the whole audit")
    findings: list[Finding]


class RunInfo(_Strict):
    """What the service serves: the run's dataset, model, metrics and audit."""

    dataset: dict[str, JsonValue]
    model: ModelInfo
    split: dict[str, JsonValue]
    metrics: dict[str, float | None] = Field(description="metrics.json's overall metrics")
    audit: AuditInfo | None = Field(description="null when the run has no audit.json")
    policy: ServicePolicy | None = Field(
        default=None, description="the service's policy (`--policy`), null when it has none"
    )
