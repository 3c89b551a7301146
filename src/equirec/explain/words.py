"""An explanation in words a person reads: "Recommended because you watched X and Y"."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from equirec.explain.explanation import ItemExplanation

__all__ = ["describe", "joined"]

SHOWN = 3
"""Past items named when a counterfactual search found no valid set."""

_BY = {
    "loo": "leave-one-out: how far its score falls without each alone",
    "ig": "integrated gradients",
    "attention": "attention weights, which show what the model looked at, not why",
}


def joined(names: Sequence[str]) -> str:
    """``X``, ``X and Y``, ``X, Y and Z``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def describe(
    explanation: ItemExplanation,
    *,
    name: Callable[[int], str],
    shared: Callable[[int, Sequence[int]], Sequence[str]] = lambda item, others: (),
    verb: str = "watched",
    model: str = "the model",
    popularity: str | None = None,
) -> str:
    """The explanation as a sentence or two.

    Args:
        explanation: What :func:`~equirec.explain.explanation.explain_item` found.
        name: An item's display name (its title, else its id) by internal index.
        shared: The content labels (genres...) an item shares with given past items, by
            internal index; nothing when the model uses no content.
        verb: How a past interaction reads ("watched", "bought").
        model: The model's name, for the sentences about it.
        popularity: What to say about the item's popularity (the popularity model).
    """
    item = explanation.item
    if explanation.popular:
        why = f" ({popularity})" if popularity else ""
        return f"Recommended because it is popular with everyone{why}."
    past = [r.item for r in explanation.reasons]
    names = joined([name(i) for i in past])
    labels = list(shared(item, past))
    common = f" It shares {joined(labels)} with them." if labels and len(past) > 1 else ""
    if labels and len(past) == 1:
        common = f" It shares {joined(labels)} with it."
    found = explanation.counterfactual
    k = explanation.k
    if found is not None:
        if found.rank_before >= k:
            return f"{name(item)} is not in the top {k}: there is nothing to explain."
        if found.valid:
            them = "it" if len(past) == 1 else "them"
            return (
                f"Recommended because you {verb} {names}: without {them}, it would fall from "
                f"#{found.rank_before + 1} to #{found.rank_after + 1}, out of your top {k}.{common}"
            )
        most = joined([name(i) for i in past[:SHOWN]])
        return (
            f"No {len(past)} of your past items take it out of your top {k}: {model} "
            f"recommends it from your history as a whole. Without the {len(past)} that matter "
            f"most ({most}{', ...' if len(past) > SHOWN else ''}), it would fall from "
            f"#{found.rank_before + 1} to #{found.rank_after + 1}."
        )
    if explanation.method == "model" and model == "bpr":
        return (
            f"Recommended from what {model} learned about you; of what you {verb}, {names} "
            f"{'is' if len(past) == 1 else 'are'} nearest to it.{common}"
        )
    how = _BY.get(explanation.method, f"{model}'s own weights")
    return f"Recommended mostly because you {verb} {names} (by {how}).{common}"
