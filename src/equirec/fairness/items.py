"""Item side of the audit: exposure by item group, popularity bias, calibration and diversity.

An item's *popularity* is its number of known interactions: those in the history the lists were
made from (a run's ``test_history``, ``train+valid`` by default), repeats counted
(:attr:`~equirec.fairness.inputs.AuditData.popularity`). The head, the deciles, ARP and novelty
all use it. :func:`item_exposure_table` gives every catalogue item's exposure, lists and
popularity (``item_exposure.csv``); the report names the most and least exposed items and some of
those never recommended (``items.exposed``).

Uncertainty: exposure shares get a bootstrap interval over lists (the lists are the sampled
units); the gap between item groups is tested by permuting group memberships over items (the null
hypothesis: an item's exposure does not depend on its group), with the catalogue fixed, so items
that are never recommended count as the zeros they are; the permutations are adaptive
(:func:`~equirec.fairness.permutation.adaptive_p_value`), so a clear gap gets a p-value small
enough to survive the audit's multiplicity adjustment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import DataError
from equirec.evaluation.beyond import popularity_metrics, recommendation_counts
from equirec.evaluation.metrics import hit_matrix
from equirec.fairness.exposure import (
    catalogue_share,
    disparate_treatment,
    equity_of_attention,
    exposure_by_popularity_decile,
    exposure_share,
    group_exposure,
    item_exposure,
    lorenz_curve,
    position_weights,
)
from equirec.fairness.frame import _num
from equirec.fairness.groups import (
    Groups,
    ItemGroups,
    categorical_groups,
    item_groups_from_labels,
    item_labels,
    multi_valued_groups,
    quantile_groups,
)
from equirec.fairness.inputs import AuditData
from equirec.fairness.item_metrics import catalogue_exposure, head_items, popularity_bias, reo, rsp
from equirec.fairness.lists import calibration_kl, genre_profiles, intra_list_diversity
from equirec.fairness.permutation import DEFAULT_GROWTH, adaptive_p_value
from equirec.fairness.stats import percentile_interval

TOP_ITEMS = 10
"""Items named at each end of the exposure ranking (``items.exposed.most`` / ``least``)."""

NEVER_EXAMPLES = 5
"""Never-recommended items named (the most popular of them) in ``items.exposed``."""

COLD_START = "cold_start"
"""The item grouping of a cold-start test: ``known`` items (with an interaction known before the
lists) and ``new`` ones (without, e.g. the cold items of ``--split cold-items``)."""

TITLE = "title"
"""The item attribute that names an item, when the dataset has it (MovieLens: the title)."""


def item_groups(
    data: AuditData,
    *,
    attributes: Sequence[str] | None,
    head_mask: np.ndarray,
    multi: str,
    numeric_bands: int = 4,
) -> list[ItemGroups]:
    """``popularity`` (head/tail), ``cold_start`` (known/new) where held-out items include
    some never known before the lists, plus the item attributes' groups (default: categorical,
    multi)."""
    kinds = data.item_attribute_kinds
    pop_codes = np.where(head_mask, 0, 1).astype(np.int64)
    out = [item_groups_from_labels(Groups("popularity", pop_codes, ("head", "tail")))]
    new = data.popularity == 0
    if new.any() and data.relevant[:, np.flatnonzero(new)].nnz:
        # A cold-start test: items without a known interaction are wanted by some test users.
        codes = new.astype(np.int64)
        out.append(item_groups_from_labels(Groups(COLD_START, codes, ("known", "new"))))
    names = (
        [a for a, kind in kinds.items() if kind in ("categorical", "multi")]
        if attributes is None
        else [a for a in attributes if a != "popularity"]
    )
    for name in names:
        if name not in kinds:
            raise DataError(
                f"item attribute {name!r} is not in the data; available: "
                f"{sorted([*kinds, 'popularity'])}"
            )
        values = data.item_attributes[name]
        if kinds[name] == "multi":
            out.append(multi_valued_groups(values, name=name, multi=multi))
        elif kinds[name] == "categorical":
            out.append(item_groups_from_labels(categorical_groups(values, name=name)))
        elif kinds[name] == "numeric":
            g = quantile_groups(values.to_numpy(dtype=np.float64), name=name, bands=numeric_bands)
            out.append(item_groups_from_labels(g))
        else:
            raise DataError(f"item attribute {name!r} is free text; it cannot define groups")
    return out


def new_items_within(
    groups: ItemGroups, *, new: np.ndarray, exposure: np.ndarray, wanted: np.ndarray
) -> dict[str, dict[str, float | None]]:
    """Per group of an item attribute (a genre, a provider): the share of the group's
    exposure that goes to new items, against their share of its items and of what test users
    wanted from it (held-out interactions)."""
    m = groups.membership
    newm = m * new[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        exposure_share = (exposure @ newm) / (exposure @ m)
        item_share = newm.sum(axis=0) / m.sum(axis=0)
        wanted_share = (wanted @ newm) / (wanted @ m)
    return {
        label: {
            "new_exposure_share": _num(exposure_share[g]),
            "new_item_share": _num(item_share[g]),
            "new_wanted_share": _num(wanted_share[g]),
        }
        for g, label in enumerate(groups.labels)
    }


def group_exposure_report(
    lists: np.ndarray,
    groups: ItemGroups,
    *,
    exposure: np.ndarray,
    weights: np.ndarray,
    seen: Any,
    relevant: Any,
    k: int,
    n_boot: int,
    confidence: float,
    n_permutations: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Exposure of every group of one item attribute, with interval, test, RSP and REO."""
    m = groups.membership
    n_items = m.shape[0]
    total = float(exposure.sum())
    size = m.sum(axis=0)
    cat_share = catalogue_share(m)
    share = exposure_share(exposure, m)
    per_item = group_exposure(exposure, m)
    relevance = np.asarray(relevant.sum(axis=0)).ravel()
    treatment = disparate_treatment(exposure, relevance, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = share / cat_share
        rel_per_item = (relevance @ m) / size

    # bootstrap over lists: per-list exposure of each group and in total
    padded = np.where(lists >= 0, lists, 0)
    v = np.where(lists >= 0, weights[None, : lists.shape[1]], 0.0)
    contrib = np.einsum("lk,lkg->lg", v, m[padded])
    list_total = v.sum(axis=1)
    low = np.full(len(size), np.nan)
    high = np.full(len(size), np.nan)
    if n_boot and len(lists):
        draws = rng.integers(0, len(lists), size=(n_boot, len(lists)))
        boot = np.stack([contrib[d].sum(axis=0) / list_total[d].sum() for d in draws])
        for g in range(len(size)):
            low[g], high[g] = percentile_interval(boot[:, g], confidence)

    p_value, n_perm = float("nan"), None
    present = size > 0
    if n_permutations and present.sum() >= 2 and total > 0:
        observed = float(np.nanmax(relative[present]) - np.nanmin(relative[present]))

        def draw(n: int) -> np.ndarray:
            out = []
            for start in range(0, n, 256):
                b = min(256, n - start)
                perms = rng.permuted(np.broadcast_to(exposure, (b, n_items)), axis=1)
                rel = (perms @ m[:, present]) / total / cat_share[present]
                out.append(rel.max(axis=1) - rel.min(axis=1))
            return np.concatenate(out)

        test = adaptive_p_value(
            observed, draw, n_min=n_permutations, n_max=DEFAULT_GROWTH * n_permutations
        )
        p_value, n_perm = test.p_value, test.n_permutations

    r = rsp(lists, seen=seen, membership=m, k=k)
    e = reo(lists, relevant=relevant, membership=m, k=k)
    by_group = {
        label: {
            "exposure": _num(per_item[g]),
            "exposure_share": _num(share[g]),
            "catalogue_share": _num(cat_share[g]),
            "relative_exposure": _num(relative[g]),
            "ci_low": _num(low[g]),
            "ci_high": _num(high[g]),
            "n_items": int((m[:, g] > 0).sum()),
            "relevance_per_item": _num(rel_per_item[g]),
            "exposure_per_relevance": _num(treatment[g]),
            "rsp_probability": _num(r["by_group"][g]),
            "reo_probability": _num(e["by_group"][g]),
        }
        for g, label in enumerate(groups.labels)
    }
    rel_present = relative[present]
    return {
        "by_group": by_group,
        "multi": groups.multi,
        "rsp": _num(r["value"]),
        "reo": _num(e["value"]),
        "exposure_ratio": _num(np.nanmin(rel_present) / np.nanmax(rel_present))
        if present.sum() >= 2 and np.nanmax(rel_present) > 0
        else None,
        "difference": _num(np.nanmax(rel_present) - np.nanmin(rel_present))
        if present.sum() >= 2
        else None,
        "p_value": _num(p_value),
        "n_permutations": n_perm,
    }


def item_side(
    data: AuditData,
    *,
    k: int,
    item_attributes: Sequence[str] | None,
    head: str,
    head_cutoff: float,
    attention: str,
    patience: float,
    multi: str,
    calibration_attribute: str | None,
    calibration_alpha: float,
    n_boot: int,
    confidence: float,
    n_permutations: int,
    seed: int,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The ``items`` and ``lists`` sections of the report, and warnings."""
    rng = np.random.default_rng(seed)
    lists = data.lists[:, :k]
    warnings: list[str] = []
    seen = data.seen[data.list_users]
    relevant = data.relevant[data.list_users]
    weights = position_weights(k, attention=attention, patience=patience)
    exposure = item_exposure(
        lists, n_items=data.n_items, k=k, attention=attention, patience=patience
    )
    head_mask = head_items(data.popularity, method=head, cutoff=head_cutoff)
    tail = ~head_mask
    bias = popularity_bias(lists, popularity=data.popularity, tail=tail, k=k)
    groups_report: dict[str, Any] = {}
    all_groups = item_groups(data, attributes=item_attributes, head_mask=head_mask, multi=multi)
    for groups in all_groups:
        groups_report[groups.name] = group_exposure_report(
            lists,
            groups,
            exposure=exposure,
            weights=weights,
            seen=seen,
            relevant=relevant,
            k=k,
            n_boot=n_boot,
            confidence=confidence,
            n_permutations=n_permutations,
            rng=rng,
        )
    if COLD_START in groups_report:
        new = data.popularity == 0
        wanted = np.asarray(relevant.sum(axis=0)).ravel()
        groups_report[COLD_START]["by_attribute"] = {
            g.name: new_items_within(g, new=new, exposure=exposure, wanted=wanted)
            for g in all_groups
            if g.name not in ("popularity", COLD_START)
        }
    pop = groups_report["popularity"]
    x, y = lorenz_curve(exposure)
    deciles = exposure_by_popularity_decile(exposure, data.popularity)
    hits = hit_matrix(lists, relevant).astype(np.float64)
    table = item_exposure_table(
        data, k=k, attention=attention, patience=patience, head_mask=head_mask
    )
    items = {
        "k": k,
        "catalogue": {
            key: _num(value) if isinstance(value, float) else value
            for key, value in catalogue_exposure(
                lists, n_items=data.n_items, k=k, attention=attention, patience=patience
            ).items()
        }
        | {"n_items": data.n_items},
        "popularity": {
            "arp": _num(bias["arp"].mean()),
            "aplt": _num(bias["aplt"].mean()),
            "aclt": _num(bias["aclt"].mean()),
            "pop_rsp": pop["rsp"],
            "pop_reo": pop["reo"],
            "head": _head_text(head, head_cutoff, int(head_mask.sum())),
        },
        "lorenz": {"x": [float(v) for v in x], "y": [float(v) for v in y]},
        "deciles": _records(deciles),
        "groups": groups_report,
        "equity_of_attention": _num(
            equity_of_attention(lists, relevance=hits, k=k, attention=attention, patience=patience)
        ),
        "exposure": {"attention": attention, "total": float(exposure.sum())},
        "exposed": exposed_items(table),
    }
    novelty = popularity_metrics(
        lists, popularity=data.popularity, n_users=len(data.user_ids), ks=(k,)
    )[f"novelty@{k}"]
    lists_report: dict[str, Any] = {"novelty": _num(novelty.mean())}
    attr = calibration_attribute or next(
        (a for a, kind in data.item_attribute_kinds.items() if kind == "multi"), None
    )
    if attr is not None:
        if data.item_attribute_kinds.get(attr) not in ("multi", "categorical"):
            raise DataError(
                f"calibration attribute {attr!r} must be a multi-valued or categorical item "
                f"attribute; item attributes: {data.item_attribute_kinds}"
            )
        genres = multi_valued_groups(data.item_attributes[attr], name=attr, multi="count")
        ckl = calibration_kl(
            lists, seen=seen, item_genres=genres.membership, k=k, alpha=calibration_alpha
        )
        ok = ckl[~np.isnan(ckl)]
        lo = hi = float("nan")
        if n_boot and len(ok):
            means = ok[rng.integers(0, len(ok), size=(n_boot, len(ok)))].mean(axis=1)
            lo, hi = percentile_interval(means, confidence)
        profiles = genre_profiles(lists, seen=seen, item_genres=genres.membership, k=k)
        profiles.index = list(genres.labels)
        ild = intra_list_diversity(lists, item_features=genres.membership, k=k, metric="jaccard")
        lists_report["calibration"] = {
            "attribute": attr,
            "alpha": calibration_alpha,
            "c_kl": _num(ok.mean()) if len(ok) else None,
            "ci_low": _num(lo),
            "ci_high": _num(hi),
            "users": len(ok),
            "profile": {
                str(g): {"history": _num(row["history"]), "recommended": _num(row["recommended"])}
                for g, row in profiles.iterrows()
            },
        }
        lists_report["diversity"] = {
            "ild": _num(np.nanmean(ild)) if np.isfinite(ild).any() else None,
            "features": attr,
            "metric": "jaccard",
        }
    else:
        warnings.append("no multi-valued item attribute (genres): calibration not measured")
    return items, lists_report, warnings


def _head_text(method: str, cutoff: float, n_head: int) -> str:
    share = f"{100 * cutoff:.4g}%"  # 80%, 12.5%, 0.5%: never rounded to 0%
    if method == "share":
        return f"most popular items holding {share} of known interactions ({n_head} items)"
    return f"top {share} of items by known interactions ({n_head} items)"


def item_exposure_table(
    data: AuditData,
    *,
    k: int,
    attention: str = "log",
    patience: float = 0.8,
    head: str = "share",
    head_cutoff: float = 0.8,
    head_mask: np.ndarray | None = None,
    attributes: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per catalogue item: its exposure in the top ``k`` of the lists, and what it is.

    Args:
        data: The audit's inputs.
        k: Cut-off (as the audit's).
        attention: Position attention (as the audit's).
        patience: Geometric attention's continuation probability.
        head: How the head was cut (``"share"`` or ``"top"``, as the audit's).
        head_cutoff: Its share.
        head_mask: The head, when already cut (then ``head`` and ``head_cutoff`` are unused).
        attributes: Item attributes to add as columns (a multi-valued one as ``"a|b"``).

    Returns:
        In catalogue order: ``item`` (original id), ``title`` (when the data has one),
        ``exposure`` (position-weighted, summed over the lists), ``exposure_share`` (of all
        exposure; NaN without any), ``lists`` (lists whose top ``k`` hold it),
        ``known_interactions`` (its popularity: interactions in the history the lists were made
        from), ``popularity_group`` (``head`` or ``tail``), then one column per attribute
        (``cold_start``: ``known`` or ``new``).
    """
    lists = data.lists[:, :k]
    exposure = item_exposure(
        lists, n_items=data.n_items, k=k, attention=attention, patience=patience
    )
    total = float(exposure.sum())
    if head_mask is None:
        head_mask = head_items(data.popularity, method=head, cutoff=head_cutoff)
    out = pd.DataFrame({"item": data.item_ids.to_numpy()})
    if TITLE in data.item_attributes.columns:
        out["title"] = data.item_attributes[TITLE].to_numpy(dtype=object)
    out["exposure"] = exposure
    out["exposure_share"] = exposure / total if total > 0 else np.nan
    out["lists"] = recommendation_counts(lists, n_items=data.n_items)
    out["known_interactions"] = data.popularity
    out["popularity_group"] = np.where(head_mask, "head", "tail")
    for name in attributes:
        if name == COLD_START:  # the grouping of a cold-start test: known or new items
            out[name] = np.where(data.popularity == 0, "new", "known")
            continue
        if name in ("popularity", TITLE) or name not in data.item_attributes.columns:
            continue
        column = data.item_attributes[name]
        if data.item_attribute_kinds.get(name) == "multi":
            out[name] = ["|".join(item_labels(v)) for v in column]
        else:
            out[name] = column.to_numpy(dtype=object)
    return out


def exposed_items(table: pd.DataFrame) -> dict[str, Any]:
    """``items.exposed``: the most and least exposed recommended items, and the never-recommended.

    Args:
        table: :func:`item_exposure_table`.

    Returns:
        ``most`` (the :data:`TOP_ITEMS` most exposed, most first), ``least`` (the
        :data:`TOP_ITEMS` least exposed of the recommended items, least first) and
        ``never_recommended`` (how many items are in no list, and the :data:`NEVER_EXAMPLES` most
        popular of them); ties by catalogue order.
    """
    order = np.arange(len(table))
    exposure = table["exposure"].to_numpy()
    recommended = np.flatnonzero(table["lists"].to_numpy() > 0)
    by_exposure = recommended[np.lexsort((order[recommended], -exposure[recommended]))]
    least = recommended[np.lexsort((order[recommended], exposure[recommended]))]
    never = np.flatnonzero(table["lists"].to_numpy() == 0)
    pop = table["known_interactions"].to_numpy()
    never = never[np.lexsort((order[never], -pop[never]))]
    return {
        "most": [_item_entry(table, i) for i in by_exposure[:TOP_ITEMS]],
        "least": [_item_entry(table, i) for i in least[:TOP_ITEMS]],
        "never_recommended": {
            "n_items": len(never),
            "examples": [_item_ref(table, i) for i in never[:NEVER_EXAMPLES]],
        },
    }


def _item_ref(table: pd.DataFrame, i: int) -> dict[str, Any]:
    row = table.iloc[int(i)]
    item = row["item"]
    title = row["title"] if "title" in table.columns else None
    return {
        "item": int(item) if isinstance(item, (int, np.integer)) else str(item),
        "title": None if title is None or pd.isna(title) else str(title),
        "known_interactions": float(row["known_interactions"]),
        "popularity_group": str(row["popularity_group"]),
    }


def _item_entry(table: pd.DataFrame, i: int) -> dict[str, Any]:
    row = table.iloc[int(i)]
    return _item_ref(table, i) | {
        "exposure": float(row["exposure"]),
        "exposure_share": _num(row["exposure_share"]),
        "lists": int(row["lists"]),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            str(c): (_num(v) if isinstance(v, (float, np.floating)) else int(v))
            for c, v in row.items()
        }
        for row in frame.to_dict(orient="records")
    ]
