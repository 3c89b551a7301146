"""Fixtures of the service tests: an audited EASE run and a copy of the shared BPR run."""

from __future__ import annotations

import shutil

import pytest

from equirec.cli import main

pytest.importorskip("fastapi")


@pytest.fixture(scope="session")
def ease_run(tmp_path_factory):
    """EASE on the synthetic log, audited (audit.json for GET /run)."""
    folder = tmp_path_factory.mktemp("serve") / "ease"
    args = ["run", "--dataset", "synthetic", "--model", "ease", "--out", str(folder), "--audit"]
    assert main([*args, "--quiet"]) == 0
    return folder


@pytest.fixture(scope="session")
def bpr_run(tmp_path_factory, run_dir):
    """The shared BPR run, copied without an audit (other tests may audit the original)."""
    folder = tmp_path_factory.mktemp("serve") / "bpr"
    shutil.copytree(run_dir, folder)
    for name in ("audit.json", "audit.html"):
        (folder / name).unlink(missing_ok=True)
    return folder


@pytest.fixture(scope="session")
def titled_run(tmp_path_factory):
    """A popularity run on 30 users x 40 titled items ("Film 0".."Film 39").

    Items i30..i39 (provider "small") are rarely seen, so the plain top 10 of u1..u19 holds none
    of them and FA*IR with a high ``p`` and ``protected=provider=small`` must change it.
    """
    folder = tmp_path_factory.mktemp("titled")
    rows = []
    for u in range(30):
        if 1 <= u <= 10:
            rows.append((f"u{u}", f"i{29 + u}", len(rows)))
        for j in range(8):
            rows.append((f"u{u}", f"i{(u + 3 * j) % 30}", len(rows)))
    log = "user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows)
    (folder / "log.csv").write_text(log)
    items = "item,title,provider\n" + "".join(
        f"i{i},Film {i},{'small' if i >= 30 else 'big'}\n" for i in range(40)
    )
    (folder / "items.csv").write_text(items)
    out = folder / "run"
    args = ["run", "--interactions", str(folder / "log.csv"), "--model", "pop", "--out", str(out)]
    assert main([*args, "--item-attributes", str(folder / "items.csv"), "--audit", "-q"]) == 0
    return out
