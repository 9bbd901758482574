"""The names a steward types: a consortium nobody knows is a warning with the nearest known names; an unknown
target indicator is an error listing the glossary's; a theme text mapped by keyword is a note, once per text."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from etl.load import check_files, load_files
from tests.support.etl_helpers import ENGAGEMENT_HEADER, engagement_row, query, write_csv

ROOT = Path(__file__).resolve().parent.parent


def glossary_targets() -> list[str]:
    with open(ROOT / "data" / "reference" / "indicators.csv", encoding="utf-8", newline="") as f:
        return list(dict.fromkeys(r["target_indicator"] for r in csv.DictReader(f) if r["target_indicator"].strip()))


def engagements(path: Path, consortia: list[str]) -> Path:
    return write_csv(path, ENGAGEMENT_HEADER + ["コンソーシアム"],
                     [engagement_row(f"E-{i}", コンソーシアム=c) for i, c in enumerate(consortia, start=1)])


def consortium_warnings(report):
    return [p for p in report.problems if p.column == "コンソーシアム" and p.severity == "warning"]


def near_names(reason: str) -> list[str]:
    return reason.split("近い名前: ")[1].rstrip("）").split("、")


def test_a_new_consortium_is_a_warning_once_per_name_with_its_rows(tmp_path):
    path = engagements(tmp_path / "支援案件.csv", ["静岡県DX支援コミュニティ", "茨城県DX支援コミュニティ",
                                                 "静岡県DX支援コミュニティ"])
    db = tmp_path / "dx.duckdb"
    report = load_files([path], db)
    assert report.loaded and report.exit_code == 0
    [w] = consortium_warnings(report)
    assert (w.row, w.value, w.count, w.rows_shown) == (2, "静岡県DX支援コミュニティ", 2, "2、4")
    assert w.reason.startswith("コンソーシアム一覧（data/reference/consortia.csv）にも取込済みの記録にもない名前です")
    assert "支援案件.csv 「コンソーシアム」: " in report.warnings[-1] and "— 2 行（2、4行目）" in report.warnings[-1]
    assert query(db, "SELECT count(*) FROM engagements WHERE consortium = '静岡県DX支援コミュニティ'")[0][0] == 2


def test_a_misspelt_consortium_offers_the_loaded_one_first(tmp_path):
    db = tmp_path / "dx.duckdb"
    load_files([engagements(tmp_path / "支援案件.csv", ["静岡県DX支援コミュニティ"])], db)
    # once loaded, the name is known: the same name again is no warning
    again = check_files([engagements(tmp_path / "支援案件_2.csv", ["静岡県DX支援コミュニティ"])], db)
    assert consortium_warnings(again) == []
    report = check_files([engagements(tmp_path / "支援案件_3.csv", ["静岡県DX支援コミュニテイ"])], db)
    [w] = consortium_warnings(report)
    assert w.value == "静岡県DX支援コミュニテイ"
    assert near_names(w.reason) == ["静岡県DX支援コミュニティ", "茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"]


@pytest.mark.parametrize("typed,first", [
    ("茨城県DX支援コミュニテイ", "茨城県DX支援コミュニティ"),
    ("長野県DX支援コミュニテー", "長野県DX支援コミュニティ"),
    ("茨城DX支援コミュニティ", "茨城県DX支援コミュニティ"),
])
def test_near_consortium_names_most_similar_first(tmp_path, typed, first):
    report = check_files([engagements(tmp_path / "支援案件.csv", [typed])], tmp_path / "none.duckdb")
    [w] = consortium_warnings(report)
    assert near_names(w.reason)[0] == first


def test_events_and_targets_are_checked_too_and_blank_is_the_programme(tmp_path):
    ev = write_csv(tmp_path / "セミナー・研修.csv", ["イベントID", "名称", "種別", "開催日", "コンソーシアム"],
                   [["S-1", "セミナー（架空）", "DX気づきセミナー", "2024-06-01", "長野DX支援コミュニティ"]])
    tg = write_csv(tmp_path / "目標値.csv", ["年度", "コンソーシアム", "指標", "目標値"],
                   [["2024", "", "伴走回数", "10"], ["2024", "長野県DX支援コミュニティ", "支援企業数", "5"]])
    report = check_files([ev, tg], tmp_path / "none.duckdb")
    assert [(p.kind, p.value) for p in consortium_warnings(report)] == [("events", "長野DX支援コミュニティ")]


def test_an_unknown_target_indicator_is_an_error_listing_the_valid_ones(tmp_path):
    tg = write_csv(tmp_path / "目標値.csv", ["年度", "コンソーシアム", "指標", "目標値"],
                   [["2024", "", "伴走支援回数", "80"], ["2024", "", "伴走回数", "80"]])
    db = tmp_path / "dx.duckdb"
    report = load_files([tg], db)
    assert not report.loaded and report.exit_code == 1
    [err] = report.errors
    assert (err.row, err.column, err.value) == (2, "指標", "伴走支援回数")
    assert err.reason == "「指標」は " + "、".join(glossary_targets()) + " のいずれかで指定してください"
    assert not db.exists()


@pytest.mark.parametrize("indicator", glossary_targets())
def test_every_glossary_target_indicator_loads(tmp_path, indicator):
    tg = write_csv(tmp_path / "目標値.csv", ["年度", "指標", "目標値"], [["2024", indicator, "1"]])
    report = load_files([tg], tmp_path / "dx.duckdb")
    assert report.loaded and report.errors == []


def test_keyword_mapped_themes_are_notes_once_per_text_with_row_counts(tmp_path):
    eng = write_csv(tmp_path / "支援案件.csv", ENGAGEMENT_HEADER, [engagement_row("E-1")])
    ses = write_csv(tmp_path / "伴走記録.csv", ["案件ID", "回", "実施日", "テーマ"], [
        ["E-1", "1", "2024-05-01", "生成AIの活用"],
        ["E-1", "2", "2024-05-15", "生成AIの活用、経営ビジョン・DX戦略"],   # a taxonomy name: no note
        ["E-1", "3", "2024-05-29", "生成AIの活用"],
        ["E-1", "4", "2024-06-12", "ECサイト立ち上げ"],
    ])
    con = write_csv(tmp_path / "相談記録.csv", ["相談ID", "相談日", "相談元", "都道府県", "相談テーマ"], [
        ["C-1", "2024-05-01", "筑西市", "茨城県", "生成AIの活用"],
        ["C-2", "2024-05-02", "筑西市", "茨城県", "AI・RPAの利用推進"],
    ])
    db = tmp_path / "dx.duckdb"
    report = load_files([eng, ses, con], db)
    assert report.loaded
    notes = sorted((p.file_name, p.column, p.value, p.count, p.rows_shown) for p in report.problems
                   if p.severity == "note")
    # independent: the stored rows whose original text differs from the taxonomy theme it was given
    stored = query(db, "SELECT count(*) FROM sessions WHERE themes_original LIKE '%生成AIの活用%'")[0][0]
    assert stored == 3
    assert notes == [
        ("伴走記録.csv", "テーマ", "ECサイト立ち上げ → 販路拡大・EC", 1, "5"),
        ("伴走記録.csv", "テーマ", "生成AIの活用 → AI・RPAの利用推進", stored, "2、3、4"),
        ("相談記録.csv", "相談テーマ", "生成AIの活用 → AI・RPAの利用推進", 1, "2"),
    ]
    assert "伴走記録.csv 「テーマ」: 生成AIの活用 → AI・RPAの利用推進 — 3 行（2、3、4行目）" in report.mapping_notes
    # notes are not warnings
    assert not any("生成AI" in w for w in report.warnings)
