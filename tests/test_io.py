"""Atomic writes leave files and folders with the permissions a plain write would give."""

from __future__ import annotations

import os
import stat

from equirec.io import atomic_dir, atomic_write_text


def test_atomic_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.json", "{}")
        with atomic_dir(tmp_path / "run") as tmp:
            (tmp / "x.csv").write_text("a\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755
    assert path.read_text() == "{}" and (tmp_path / "run" / "x.csv").read_text() == "a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
