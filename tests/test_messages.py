"""Messages a steward acts on: impossible dates say so (with the month's last day), near names come most similar
first. Real files through the real loader (nothing is written: these batches are rejected)."""
from __future__ import annotations

import pytest

from etl.load import check_files, load_files
from tests.support.etl_helpers import ENGAGEMENT_HEADER, engagement_row, query, write_csv, write_engagements


def _reason(tmp_path, column: str, **over) -> str:
    path = write_csv(tmp_path / "支援案件.csv", ENGAGEMENT_HEADER + ["開始日"],
                     [engagement_row("E-1", **over)])
    report = check_files([path], tmp_path / "none.duckdb")
    [err] = [p for p in report.errors if p.column == column]
    return err.reason


@pytest.mark.parametrize("value,reason", [
    ("令和6年2月30日", "存在しない日付です（2024年2月は29日まで）"),
    ("2024-02-30", "存在しない日付です（2024年2月は29日まで）"),
    ("2024/2/30", "存在しない日付です（2024年2月は29日まで）"),
    ("R6.2.30", "存在しない日付です（2024年2月は29日まで）"),
    ("２０２３年２月２９日", "存在しない日付です（2023年2月は28日まで）"),
    ("2024-04-31", "存在しない日付です（2024年4月は30日まで）"),
    ("2024/13/1", "存在しない日付です（13月はありません。月は1〜12です）"),
    ("令和6年13月1日", "存在しない日付です（13月はありません。月は1〜12です）"),
])
def test_impossible_date_says_so(tmp_path, value, reason):
    assert _reason(tmp_path, "開始日", 開始日=value) == reason


@pytest.mark.parametrize("value", ["来週", "2024年春", "R6"])
def test_unreadable_date_keeps_the_general_message(tmp_path, value):
    assert _reason(tmp_path, "開始日", 開始日=value).startswith("日付として読めません（例:")


def test_impossible_session_date_is_rejected_with_the_reason_and_kept_in_rejected_rows(tmp_path):
    eng = write_engagements(tmp_path / "支援案件.csv")
    ses = write_csv(tmp_path / "伴走記録.csv", ["案件ID", "回", "実施日"],
                    [["E-1", "1", "2024-05-01"], ["E-1", "2", "令和6年2月30日"]])
    db = tmp_path / "dx.duckdb"
    report = load_files([eng, ses], db, accept_valid=True)
    assert report.loaded
    assert [(p.row, p.column, p.value, p.reason) for p in report.errors] == [
        (3, "実施日", "令和6年2月30日", "存在しない日付です（2024年2月は29日まで）")]
    assert query(db, "SELECT row_no, reason FROM rejected_rows") == [(3, "存在しない日付です（2024年2月は29日まで）")]


def _near(tmp_path, prefecture, municipality) -> list[str]:
    reason = _reason(tmp_path, "市区町村", 都道府県=prefecture, 市区町村=municipality)
    assert reason.startswith("市区町村を特定できません（近い名前: ")
    return reason.split("近い名前: ")[1].rstrip("）").split("、")


def test_near_municipality_names_most_similar_first(tmp_path):
    # 静岡県 has 下田市, 島田市 and 磐田市, all one character from 盤田市: the kanji closest in shape (磐) comes first
    assert _near(tmp_path, "静岡県", "盤田市") == ["静岡県磐田市", "静岡県島田市", "静岡県下田市"]


def test_near_municipality_names_without_prefecture(tmp_path):
    # all of Japan: one-edit names only, 磐田市 among them (益田市 shares 盤's radical 皿, so it may come first)
    names = _near(tmp_path, "", "盤田市")
    assert "静岡県磐田市" in names and len(names) == 3


def test_near_name_keeps_a_missing_character_first(tmp_path):
    # 筑西 (without 市): one edit from 筑西市, nearer than any same-length name
    reason = _reason(tmp_path, "市区町村", 市区町村="筑西")
    assert reason.split("近い名前: ")[1].startswith("茨城県筑西市")
