"""Why an item was recommended: counterfactual explanations and attributions, in memory.

:func:`~equirec.explain.counterfactual.counterfactual` finds the fewest past items whose removal
takes a recommended item out of the top ``k``, checked by re-scoring;
:func:`~equirec.explain.attribution.attribute` ranks every past item by its effect
(leave-one-out, integrated gradients, attention, or a baseline's own weights);
:func:`~equirec.explain.explanation.explain_item` runs either for one item,
:func:`~equirec.explain.words.describe` says it in words, and
:mod:`~equirec.explain.faithfulness` measures how faithful the explanations are. A run folder's
explanations (ids, titles): :func:`equirec.workflows.explain.explain`.
"""
