"""The reporting package sits above the library: it reads results, nothing below imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import equirec

SRC = Path(equirec.__file__).parent
ALLOWED = (
    "equirec.reporting",
    "equirec.fairness",
    "equirec.mitigation",
    "equirec.errors",
    "equirec.io",
)
BELOW = ("fairness", "mitigation", "data", "models", "evaluation")


def _imports(path: Path, *, module_level_only: bool) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    names: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_reporting_imports_only_results_and_errors() -> None:
    files = sorted((SRC / "reporting").rglob("*.py"))
    assert files
    for path in files:
        for name in _imports(path, module_level_only=False):
            if _under(name, "equirec"):
                assert any(_under(name, ok) for ok in ALLOWED), f"{path.name} imports {name}"


def test_nothing_below_imports_reporting_at_module_level() -> None:
    for package in BELOW:
        for path in sorted((SRC / package).rglob("*.py")):
            for name in _imports(path, module_level_only=True):
                assert not _under(name, "equirec.reporting"), f"{path} imports {name}"


def test_templates_are_package_data() -> None:
    templates = sorted(p.name for p in (SRC / "reporting" / "templates").glob("*.j2"))
    assert "base.html.j2" in templates and "audit.html.j2" in templates
    assert "sweep.html.j2" in templates
