"""The README's methods section is exactly what ``equirec methods --markdown`` prints.

Regenerate it after changing a method (its registry entry, signature or docstring) with::

    .venv/bin/python tests/test_readme.py
"""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- methods:start -->\n"
END = "<!-- methods:end -->"
REGENERATE = ".venv/bin/python tests/test_readme.py"


def _split(text: str) -> tuple[str, str, str]:
    """The README before the section (start marker included), the section, and the rest."""
    head, found, rest = text.partition(START)
    section, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise AssertionError(f"README.md lacks the markers {START.strip()} ... {END}")
    return head + START, section, END + tail


def _generated() -> str:
    from equirec.mitigation.registry import markdown

    return markdown()


def update() -> bool:
    """Rewrite the README's methods section from the registry; whether it changed."""
    text = README.read_text(encoding="utf-8")
    head, _, tail = _split(text)
    new = head + _generated() + tail
    if new != text:
        README.write_text(new, encoding="utf-8")
    return new != text


def test_readme_methods_section_is_generated() -> None:
    _, section, _ = _split(README.read_text(encoding="utf-8"))
    assert section == _generated(), (
        "README.md's methods section differs from `equirec methods --markdown` "
        f"(the registry); regenerate it with `{REGENERATE}`"
    )


def test_cli_prints_the_same_markdown(capsys) -> None:
    from equirec.cli import main

    assert main(["methods", "--markdown"]) == 0
    assert capsys.readouterr().out == _generated()


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.startswith("# equirec\n\n```bash\nmake run ")
    assert text.splitlines()[4].startswith("make test ")


if __name__ == "__main__":
    print("README.md updated" if update() else "README.md already up to date")
    sys.exit(0)
