"""Shared fixtures: a database built from the sample programme through the real load path."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.load import build_sample_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sample_db_master(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "dx.duckdb"
    build_sample_database(path)
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
    from test_marts import make_fixture_db
    if request.param == "fixture":
        path = make_fixture_db(tmp_path / "fixture.duckdb")
    else:
        path = request.getfixturevalue("sample_db")
    monkeypatch.setenv("DX_DB_PATH", str(path))
    return path


def open_page(page: str, **query):
    """An AppTest of a page script with URL query parameters set."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(page, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at
