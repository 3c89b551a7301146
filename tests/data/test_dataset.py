"""Dataset: item titles by position."""

from __future__ import annotations

import numpy as np
import pandas as pd

from equirec.data.dataset import Dataset


def test_item_titles_follow_the_vocabulary_and_are_none_without_text():
    log = pd.DataFrame({"user": ["u", "u", "u"], "item": ["b", "a", "c"], "timestamp": [0, 1, 2]})
    items = pd.DataFrame(
        {"title": ["Alpha", "", np.nan]}, index=pd.Index(["a", "b", "c"], name="item")
    )
    data = Dataset(interactions=log, item_attributes=items)
    by_id = dict(zip(data.item_ids, data.item_titles(), strict=True))
    assert by_id == {"a": "Alpha", "b": None, "c": None}
    assert Dataset(interactions=log).item_titles() == [None, None, None]
