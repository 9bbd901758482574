"""Shared fixtures only (what they build lives in tests/support): the sample programme and the sample loaded as
ordinary records, each built once per run through the real load path and copied for a test that writes; the
hand-made fixture database; a private temp folder per run. And the order of the modules: the long ones first."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from etl.load import build_sample_database
from tests.support import browser as B
from tests.support.fixture_db import make_fixture_db, records_database


HEAVY_MARKS = ("browser", "slow")


def pytest_collection_modifyitems(items):
    """Modules with browser or slow tests run first: pytest-xdist (--dist loadfile) hands out whole modules in this
    order, so the long ones start while there is still short work to share out, and no long module starts last."""
    heavy = {item.path for item in items if any(item.get_closest_marker(m) for m in HEAVY_MARKS)}
    items.sort(key=lambda item: item.path not in heavy)        # stable: file order kept within each group


@pytest.fixture(scope="session", autouse=True)
def private_tempdir(tmp_path_factory, request) -> Path:
    """TMPDIR for this run (and each xdist worker) under pytest's own bounded temp folder: upload folders, the
    intake worker's machine-wide lock (dx-worker.lock) and the loads' temp files are then neither shared with another
    run on the machine nor left behind."""
    path = tmp_path_factory.mktemp("tmpdir")
    mp = pytest.MonkeyPatch()
    mp.setenv("TMPDIR", str(path))
    mp.setenv("DX_AUDIT_PATH", str(path / "audit.sqlite"))   # the audit trail of this run, never data/audit.sqlite
    mp.setattr(tempfile, "tempdir", None)          # gettempdir() reads TMPDIR again
    yield path
    mp.undo()
    tempfile.tempdir = None


@pytest.fixture(scope="session")
def sample_db_master(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "dx.duckdb"
    build_sample_database(path)
    return path


@pytest.fixture(scope="session")
def records_db_master(tmp_path_factory) -> Path:
    """The sample loaded as ordinary records (never written: tests copy it)."""
    return records_database(tmp_path_factory.mktemp("records") / "dx.duckdb")


@pytest.fixture(scope="session")
def fixture_db_master(tmp_path_factory) -> Path:
    """The hand-made fixture database (tests/support/fixture_db.py), never written: tests copy it."""
    return make_fixture_db(tmp_path_factory.mktemp("fixture") / "fixture.duckdb")


@pytest.fixture(scope="session")
def national_db(tmp_path_factory) -> Path:
    """A generated national programme (a consortium in every prefecture, 3,000 sessions) loaded through the real load
    path; never written: tests copy it."""
    from etl.generate import generate  # noqa: PLC0415  (heavy: imported where used)
    from etl.load import load_files  # noqa: PLC0415
    out = tmp_path_factory.mktemp("national")
    generate(out / "records", sessions=3_000)
    path = out / "national.duckdb"
    assert load_files(sorted((out / "records").glob("*.csv")), path, fresh=True).loaded
    return path


@pytest.fixture()
def sample_db(sample_db_master, tmp_path) -> Path:
    """A private copy of the sample database (tests may load into it)."""
    path = tmp_path / "dx.duckdb"
    shutil.copyfile(sample_db_master, path)
    return path


@pytest.fixture()
def sample_db_env(sample_db, monkeypatch) -> Path:
    """The sample database, named by DX_DB_PATH as the app reads it."""
    monkeypatch.setenv("DX_DB_PATH", str(sample_db))
    return sample_db


@pytest.fixture(params=["fixture", "sample"])
def page_db(request, tmp_path, monkeypatch) -> Path:
    """Each page test runs twice: on a small hand-made database with known figures, and on the sample."""
    if request.param == "fixture":
        path = tmp_path / "fixture.duckdb"
        shutil.copyfile(request.getfixturevalue("fixture_db_master"), path)
    else:
        path = request.getfixturevalue("sample_db")
    monkeypatch.setenv("DX_DB_PATH", str(path))
    return path


# ── browser tests: one Playwright and one Debian Chromium per test module ──────────────────────────────────────
# (module scope: Playwright's sync API keeps an event loop that must not outlive the module's browser tests)

@pytest.fixture(scope="module")
def pw():
    problem = B.chromium_missing_message()
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415  (imported when a browser test runs)
    except ImportError:
        pytest.fail("the playwright pip package is missing: run `scripts/setup.sh` (requirements.txt). "
                    "Do not let Playwright download a browser: the tests drive Debian's /usr/bin/chromium.",
                    pytrace=False)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(pw):
    browser = B.launch_chromium(pw)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def browser_context(chromium):
    """One context per module for the tests that need no isolation of cookies: its pages share the HTTP and code
    caches (a fresh context fetches and compiles Streamlit's bundle again for every page). Each page is still a
    Streamlit session of its own. Open pages with tests.support.browser.new_tab."""
    context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", accept_downloads=True)
    yield context
    context.close()
