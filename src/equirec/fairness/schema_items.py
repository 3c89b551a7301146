"""The item side of the ``audit.json`` schema: ``items``, ``lists`` and ``leakage``.

Part of :mod:`equirec.fairness.schema` (whose conventions apply); import the models from there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Fixed(BaseModel):
    """Base of the models with a fixed set of keys: unknown keys rejected, strict types."""

    model_config = ConfigDict(extra="forbid", strict=True)


# -- items ----------------------------------------------------------------------------------------
class CatalogueExposure(Fixed):
    """How the lists spread over the whole catalogue (never-recommended items included).

    Attributes:
        coverage: Share of the catalogue in at least one list.
        gini_exposure: Gini coefficient of the position-weighted exposure of every item.
        gini_counts: Gini coefficient of the recommendation counts (every appearance in a list
            counts 1, whatever its position).
        entropy: Entropy (nats) of the recommendation counts.
        never_recommended: Items in no list.
        n_items: Catalogue size.
    """

    coverage: float | None
    gini_exposure: float | None
    gini_counts: float | None
    entropy: float | None
    never_recommended: int
    n_items: int


class PopularityBias(Fixed):
    """Popularity bias of the lists.

    Attributes:
        arp: Average recommendation popularity: the mean known interactions of the recommended
            items (interactions in the history the lists were made from).
        aplt: Average share of long-tail items per list.
        aclt: Average number of long-tail items per list.
        pop_rsp: RSP of head against tail (``items.groups["popularity"].rsp``).
        pop_reo: REO of head against tail (``items.groups["popularity"].reo``).
        head: How the head was cut, in words.
    """

    arp: float | None
    aplt: float | None
    aclt: float | None
    pop_rsp: float | None
    pop_reo: float | None
    head: str


class LorenzCurve(Fixed):
    """Lorenz curve of exposure over the catalogue.

    Attributes:
        x: Share of items, least exposed first, from 0 to 1.
        y: Share of all exposure they hold, from 0 to 1.
    """

    x: list[float]
    y: list[float]


class Decile(Fixed):
    """One popularity band of the catalogue and its share of exposure.

    An item's popularity is its number of known interactions: those in the history the lists
    were made from (``params.test_history``, ``train+valid`` for a run by default).

    Attributes:
        decile: Band number, 1 = least popular.
        n_items: Items in the band.
        popularity_min: Fewest known interactions of an item in it (``None`` for an empty band).
        popularity_max: Most known interactions of an item in it (``None`` for an empty band).
        exposure_share: Its share of all exposure (``None`` without exposure).
    """

    decile: int
    n_items: int
    popularity_min: float | None
    popularity_max: float | None
    exposure_share: float | None


class ItemGroupExposure(Fixed):
    """Exposure of one group of items.

    Attributes:
        exposure: Mean exposure per item of the group.
        exposure_share: The group's share of all exposure.
        catalogue_share: Its share of the catalogue.
        relative_exposure: ``exposure_share / catalogue_share``.
        ci_low: Lower end of the bootstrap interval (over lists) of ``exposure_share``.
        ci_high: Upper end of that interval.
        n_items: Items in the group.
        relevance_per_item: Held-out interactions per item of the group.
        exposure_per_relevance: Disparate treatment: exposure per unit of relevance.
        rsp_probability: The group's probability of being recommended (RSP's term).
        reo_probability: The group's probability of being recommended when relevant (REO's).
    """

    exposure: float | None
    exposure_share: float | None
    catalogue_share: float | None
    relative_exposure: float | None
    ci_low: float | None
    ci_high: float | None
    n_items: int
    relevance_per_item: float | None
    exposure_per_relevance: float | None
    rsp_probability: float | None
    reo_probability: float | None


class NewItemsWithin(Fixed):
    """New items (without a known interaction) within one group of another item attribute.

    Attributes:
        new_exposure_share: Share of the group's exposure that goes to its new items.
        new_item_share: Share of the group's items that are new.
        new_wanted_share: Share of the group's held-out interactions that are on new items.
    """

    new_exposure_share: float | None
    new_item_share: float | None
    new_wanted_share: float | None


class ItemAttributeExposure(Fixed):
    """Exposure of the groups of one item attribute (``popularity``: head and tail).

    Attributes:
        by_group: Group label -> its exposure.
        multi: ``"count"`` or ``"split"`` membership of a multi-valued attribute, else ``None``.
        rsp: Ranking-based statistical parity (``None`` when undefined).
        reo: Ranking-based equal opportunity.
        exposure_ratio: ``min / max`` relative exposure of the groups with items.
        difference: ``max − min`` relative exposure.
        p_value: Permutation p-value of the gap (``None``: not tested).
        n_permutations: Permutations run, adaptively (``None``: not tested).
        p_adjusted: Holm-adjusted p-value (tested entries only).
        significant: ``p_adjusted < 1 − confidence`` (tested entries only).
        by_attribute: ``cold_start`` only: attribute -> group -> the new items within it.
    """

    by_group: dict[str, ItemGroupExposure]
    multi: Literal["count", "split"] | None
    rsp: float | None
    reo: float | None
    exposure_ratio: float | None
    difference: float | None
    p_value: float | None
    n_permutations: int | None
    p_adjusted: float | None = None
    significant: bool | None = None
    by_attribute: dict[str, dict[str, NewItemsWithin]] | None = None


class ExposureTotal(Fixed):
    """What exposure was measured with.

    Attributes:
        attention: Position attention.
        total: Total exposure of all lists.
    """

    attention: Literal["log", "geometric"]
    total: float


class ItemRef(Fixed):
    """One item, named.

    Attributes:
        item: Its original id.
        title: Its ``title`` attribute (``None`` when the data has none).
        known_interactions: Its popularity: interactions in the history the lists were made
            from.
        popularity_group: ``"head"`` (popular) or ``"tail"``, as in
            ``items.groups["popularity"]``.
    """

    item: int | str
    title: str | None
    known_interactions: float
    popularity_group: Literal["head", "tail"]


class ExposedItem(ItemRef):
    """One recommended item and its exposure.

    Attributes:
        exposure: Its position-weighted exposure, summed over the lists.
        exposure_share: Its share of all exposure.
        lists: Lists whose top ``k`` hold it.
    """

    exposure: float
    exposure_share: float | None
    lists: int


class NeverRecommended(Fixed):
    """The items no list holds.

    Attributes:
        n_items: How many.
        examples: The most popular of them (up to 5), most popular first.
    """

    n_items: int
    examples: list[ItemRef]


class ExposedItems(Fixed):
    """Which items get the exposure, by name.

    Attributes:
        most: The most exposed items (up to 10), most exposed first.
        least: The least exposed of the recommended items (up to 10), least exposed first.
        never_recommended: The items in no list.
    """

    most: list[ExposedItem]
    least: list[ExposedItem]
    never_recommended: NeverRecommended


class ItemsSection(Fixed):
    """The item side (``items``).

    Attributes:
        k: Cut-off.
        catalogue: Spread over the catalogue.
        popularity: Popularity bias.
        lorenz: Lorenz curve of exposure.
        deciles: Exposure of every popularity band, least popular first.
        groups: Item attribute (``popularity`` always) -> exposure of its groups.
        equity_of_attention: Equity of attention (exposure against relevance, per item).
        exposure: What exposure was measured with.
        exposed: The most and least exposed items and the never-recommended ones, by name.
    """

    k: int
    catalogue: CatalogueExposure
    popularity: PopularityBias
    lorenz: LorenzCurve
    deciles: list[Decile]
    groups: dict[str, ItemAttributeExposure]
    equity_of_attention: float | None
    exposure: ExposureTotal
    exposed: ExposedItems


# -- lists ----------------------------------------------------------------------------------------
class GenreShare(Fixed):
    """Mean share of one genre in the histories and in the lists.

    Attributes:
        history: Mean ``p(g|u)`` of the histories.
        recommended: Mean ``q(g|u)`` of the lists.
    """

    history: float | None
    recommended: float | None


class Calibration(Fixed):
    """Steck's miscalibration of the lists.

    Attributes:
        attribute: The multi-valued item attribute (genres).
        alpha: Smoothing ``α``.
        c_kl: Mean ``C_KL`` over the users for whom it is defined.
        ci_low: Lower end of its bootstrap interval.
        ci_high: Upper end of that interval.
        users: Users for whom it is defined.
        profile: Genre -> its mean shares.
    """

    attribute: str
    alpha: float
    c_kl: float | None
    ci_low: float | None
    ci_high: float | None
    users: int
    profile: dict[str, GenreShare]


class Diversity(Fixed):
    """Intra-list diversity.

    Attributes:
        ild: Mean intra-list distance of the lists.
        features: The item attribute the distance is measured on.
        metric: The distance.
    """

    ild: float | None
    features: str
    metric: Literal["cosine", "jaccard"]


class ListsSection(Fixed):
    """Properties of each list on its own (``lists``).

    Attributes:
        novelty: Mean novelty of the lists.
        calibration: Miscalibration (only with a multi-valued item attribute).
        diversity: Intra-list diversity (only with a multi-valued item attribute).
    """

    novelty: float | None
    calibration: Calibration | None = None
    diversity: Diversity | None = None


# -- leakage --------------------------------------------------------------------------------------
class LeakageProbe(Fixed):
    """One leakage probe (see :meth:`equirec.fairness.leakage.LeakageResult.to_dict`).

    Attributes:
        auc: Out-of-fold ROC-AUC, mean over the repeats; 0.5 = no leakage.
        ci_low: Lower end of its interval (bootstrap, widened by the spread over repeats).
        ci_high: Upper end of that interval.
        baseline: Chance level of the AUC.
        balanced_accuracy: Out-of-fold balanced accuracy.
        balanced_accuracy_ci_low: Lower end of its bootstrap interval.
        balanced_accuracy_ci_high: Upper end of that interval.
        balanced_accuracy_baseline: ``1 / n_classes``.
        accuracy: Out-of-fold accuracy.
        majority_accuracy: Share of the majority class.
        n: Users probed.
        n_classes: Classes after merging rare ones.
        classes: Class -> users.
        dropped_missing: Users without a label.
        merged_classes: Rare classes merged into ``"other"``.
        dropped_rare: Users of rare classes dropped.
        folds: Cross-validation folds.
        classifier: The classifier, in words.
        p_value: P-value of "no leakage" from the permutation null's moments (``None``
            without permutations).
        n_permutations: Label permutations run.
        repeats: Cross-validation repeats averaged.
        auc_min: Smallest AUC of one repeat.
        auc_max: Largest AUC of one repeat.
        null_mean: Mean AUC of the shuffled labels.
        null_sd: Its standard deviation.
        null_exceed: Shuffles whose AUC reached the observed one.
        p_adjusted: Holm-adjusted p-value over the audit's probes (tested probes only).
        significant: ``p_adjusted < 1 − confidence``: the attribute leaks (tested probes only).
    """

    auc: float | None
    ci_low: float | None
    ci_high: float | None
    baseline: float | None
    balanced_accuracy: float | None
    balanced_accuracy_ci_low: float | None
    balanced_accuracy_ci_high: float | None
    balanced_accuracy_baseline: float | None
    accuracy: float | None
    majority_accuracy: float | None
    n: int
    n_classes: int
    classes: dict[str, int]
    dropped_missing: int
    merged_classes: list[str]
    dropped_rare: int
    folds: int
    classifier: str
    p_value: float | None
    n_permutations: int
    repeats: int
    auc_min: float | None
    auc_max: float | None
    null_mean: float | None
    null_sd: float | None
    null_exceed: int | None
    p_adjusted: float | None = None
    significant: bool | None = None


class LeakageSources(Fixed):
    """The probes of one user attribute; a source is absent when its probe could not run.

    Attributes:
        representations: Probe of the model's user representations.
        lists: Probe of the recommendation lists (bags of items).
    """

    representations: LeakageProbe | None = None
    lists: LeakageProbe | None = None
