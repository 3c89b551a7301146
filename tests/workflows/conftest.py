"""Fixtures of the workflow tests."""

from __future__ import annotations

import pandas as pd
import pytest

from equirec.cli import main


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A popularity run on 30 users x 40 items that stores only every user's top 10.

    Items i30..i39 (provider "small") are rarely seen, so only the stored lists of u20..u24
    (who have seen most other items) hold some: FA*IR with ``protected=provider=small`` must
    fetch deeper candidates from the saved model for the others. User u0 has seen nine of them,
    so even all its unseen items hold only one.
    """
    folder = tmp_path_factory.mktemp("tiny")
    rows = []
    for u in range(30):
        t = 0
        if u == 0:
            for i in range(30, 39):
                rows.append((f"u{u}", f"i{i}", t))
                t += 1
        elif u <= 10:
            rows.append((f"u{u}", f"i{29 + u}", t))
            t += 1
        if 20 <= u < 25:  # has seen most big items: its top 10 holds five small ones
            for j in range(25):
                rows.append((f"u{u}", f"i{(u + j) % 30}", t))
                t += 1
            continue
        for j in range(8):
            rows.append((f"u{u}", f"i{(u + 3 * j) % 30}", t))
            t += 1
    pd.DataFrame(rows, columns=["user", "item", "timestamp"]).to_csv(
        folder / "log.csv", index=False
    )
    items = [f"i{i}" for i in range(40)]
    provider = ["small" if i >= 30 else "big" for i in range(40)]
    pd.DataFrame({"item": items, "provider": provider}).to_csv(folder / "items.csv", index=False)
    (folder / "run.toml").write_text(
        'seed = 0\n[data]\ninteractions = "log.csv"\nitem_attributes = "items.csv"\n'
        '[model]\nname = "pop"\n[evaluation]\nks = [5, 10]\nkeep_k = 10\n'
    )
    out = folder / "run"
    assert main(["run", "--config", str(folder / "run.toml"), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def cold_run(tmp_path_factory):
    """A popularity run on the synthetic log under the cold-items split (30% of items cold)."""
    out = tmp_path_factory.mktemp("cold") / "pop"
    argv = ["run", "--dataset", "synthetic", "--model", "pop", "--split", "cold-items"]
    assert main([*argv, "--cold-frac", "0.3", "--out", str(out), "-q"]) == 0
    return out
