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



def test_the_module_map_lists_every_module():
    dev = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    module_map = dev[dev.index("## Module map"):dev.index("\n## ", dev.index("## Module map") + 1)]
    files = [*(ROOT / "etl").glob("*.py"), *(ROOT / "monitor").rglob("*.py"), *(ROOT / "pages").glob("*.py"),
             ROOT / "app.py", ROOT / "serve.py", *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "scripts").glob("*.*"),
             *(ROOT / "tests" / "support").glob("*.py")]
    missing = sorted(str(p.relative_to(ROOT)) for p in files
                     if p.name != "__init__.py" and f"`{p.relative_to(ROOT).as_posix()}`" not in module_map)
    assert missing == []
