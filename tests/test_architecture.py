"""The layering of ARCHITECTURE.md, enforced: no import from a lower layer to a higher one.

Every ``import`` in the package counts, also those inside functions and under
``TYPE_CHECKING``: a lazy import that climbs a layer is still a dependency on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import equirec

PACKAGE = Path(equirec.__file__).parent

LAYERS: dict[str, int] = {
    "errors": 0,
    "io": 0,
    "params": 0,
    "progress": 0,
    "_lazy": 0,
    "data": 1,
    "training": 2,
    "features": 2,
    "models": 3,
    "evaluation": 4,
    "explain": 4,
    "fairness": 5,
    "llm": 5,
    "mitigation": 6,
    "reporting": 7,
    "workflows": 8,
    "testing": 9,
    "cli": 9,
    "serve": 9,
}
"""Top-level module or package -> its layer; a module may import only its own layer or below."""


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def _top(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level equirec module)`` of every import of equirec in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "equirec":
                names = [f"equirec.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "equirec" and len(parts) > 1:
                out.append((node.lineno, parts[1]))
    return out


def test_every_module_has_a_layer():
    unknown = {_top(p) for p in _modules()} - set(LAYERS)
    assert not unknown, f"give these a layer in LAYERS (and ARCHITECTURE.md): {sorted(unknown)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_climbs_a_layer(path):
    own = LAYERS[_top(path)]
    bad = [
        f"line {line}: imports equirec.{target} (layer {LAYERS.get(target)})"
        for line, target in _imports(path)
        if LAYERS.get(target, 99) > own
    ]
    assert not bad, f"{path.relative_to(PACKAGE)} (layer {own}) " + "; ".join(bad)


def test_the_check_sees_a_climbing_import(tmp_path):
    """The walker finds lazy imports inside functions too (the test above can fail)."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from equirec.workflows.run import run\n    return run\n")
    assert _imports(module) == [(2, "workflows")]


def test_light_modules_stay_light():
    """The registries the command line reads at start-up import no model, torch or pandas."""
    import subprocess
    import sys

    code = (
        "import sys, equirec.cli, equirec.models.registry, equirec.mitigation.registry, "
        "equirec.data.sources\n"
        "heavy = [m for m in ('torch', 'pandas', 'scipy', 'sklearn', 'pydantic')\n"
        "         if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
