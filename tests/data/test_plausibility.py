"""Input that parses but is probably not meant: multi-valued columns not declared, free-text
columns, column mappings that point at the wrong columns — each named in a warning that says how
to fix it, recorded in ``dataset.info["warnings"]``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from equirec.data import load_interactions
from equirec.data.plausibility import multi_valued_separator

Write = Callable[..., Path]
GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"]


def _files(write: Write, *, n_items: int = 60, n_users: int = 40) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(0)
    rows = [(u, i, t) for t, (u, i) in enumerate(
        (int(rng.integers(n_users)), int(rng.integers(n_items))) for _ in range(600)
    )]  # fmt: skip
    log = write("log.csv", "user,item,ts\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
    items = "item,genres,title\n" + "".join(
        f"{i},{'|'.join(sorted(rng.choice(GENRES, size=1 + i % 3, replace=False)))},"
        f'"Film {i}, The ({1950 + i})"\n'
        for i in range(n_items)
    )
    users = "user,gender\n" + "".join(f"{u},{'FM'[u % 2]}\n" for u in range(n_users))
    return log, write("items.csv", items), write("users.csv", users)


def test_undeclared_multi_valued_column_is_warned_with_the_fix(write: Write) -> None:
    log, items, _ = _files(write)
    ds = load_interactions(log, columns={"timestamp": "ts"}, item_attributes=items)
    warnings = ds.info["warnings"]
    genre = next(w for w in warnings if "'genres'" in w)
    assert "looks multi-valued" in genre and "--multi-valued genres='|'" in genre
    assert 'multi_valued = {genres = "|"}' in genre
    assert ds.item_attribute_kinds["genres"] == "categorical"  # nothing changed behind the back
    # declared: read as labels, and no warning
    ok = load_interactions(
        log, columns={"timestamp": "ts"}, item_attributes=items, multi_valued={"genres": "|"}
    )
    assert ok.item_attribute_kinds["genres"] == "multi"
    assert not any("genres" in w for w in ok.info.get("warnings", []))


def test_a_title_column_is_free_text_not_groups(write: Write) -> None:
    log, items, users = _files(write)
    ds = load_interactions(
        log, columns={"timestamp": "ts"}, item_attributes=items, multi_valued={"genres": "|"}
    )
    assert ds.item_attribute_kinds["title"] == "text"  # titles with commas are not multi-valued
    assert any("'title'" in w and "free text" in w for w in ds.info["warnings"])
    users_ds = load_interactions(log, columns={"timestamp": "ts"}, user_attributes=users)
    assert users_ds.user_attribute_kinds["gender"] == "categorical"
    assert "warnings" not in users_ds.info


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ({"user": "user", "item": "ts", "timestamp": "item"}, "the item column 'ts'"),
        ({"timestamp": "ts", "rating": "stamp"}, "the rating column 'stamp'"),
        ({"timestamp": "stars"}, "the timestamp column 'stars' has only 5 distinct values"),
    ],
    ids=["item-is-a-timestamp", "rating-is-a-timestamp", "timestamp-is-a-rating"],
)
def test_column_mappings_that_make_no_sense_are_warned(
    write: Write, columns: dict[str, str], expected: str
) -> None:
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "user": rng.integers(0, 30, n),
            "item": rng.integers(0, 50, n),
            "ts": np.arange(n),
            "stamp": 1_600_000_000 + rng.permutation(n) * 97,
            "stars": rng.integers(1, 6, n),
        }
    )
    path = write("log.csv", frame.to_csv(index=False))
    ds = load_interactions(path, columns=columns)
    assert any(expected in w for w in ds.info.get("warnings", [])), ds.info.get("warnings")
    assert "check columns" in next(w for w in ds.info["warnings"] if expected in w)


def test_a_sensible_log_gets_no_warning(write: Write) -> None:
    log, _, _ = _files(write)
    assert "warnings" not in load_interactions(log, columns={"timestamp": "ts"}).info


def test_separator_detection_needs_repeated_labels() -> None:
    combos = pd.Series(["A|B", "B|C", "A|C", "A", "C|D"] * 10)
    assert multi_valued_separator(combos) == "|"
    titles = pd.Series([f"Film {i}, The" for i in range(50)])  # commas, but every label new
    assert multi_valued_separator(titles) is None
    assert multi_valued_separator(pd.Series(["A|B"] * 5)) is None  # too few rows to judge
