"""The docs keep up with the code: every CLI command and every page is mentioned in the README."""
from pathlib import Path

import pytest

from etl.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_mentions_every_cli_command(command):
    assert f"python -m etl {command}" in README


@pytest.mark.parametrize("page", sorted(p.stem.split("_", 1)[1] for p in (ROOT / "pages").glob("*.py")))
def test_readme_mentions_every_page(page):
    assert page in README


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in README and "make test" in ci

