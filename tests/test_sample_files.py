"""Checks on the embedded sample record files in data/sample/ (built by scripts/build_sample.py).

These tests read the files directly (csv / openpyxl), without the project's loader, so they
check the files themselves: encodings, headers, keys, references, the shape of the sample
programme, and that the builder is deterministic.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

openpyxl = pytest.importorskip("openpyxl")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
BUILDER = ROOT / "scripts" / "build_sample.py"

ENGAGEMENTS = "支援案件.csv"
SESSIONS = "伴走記録.csv"
CONSULTATIONS = "相談記録.csv"
WORKBOOK = "セミナー・目標値.xlsx"
ALL_FILES = [ENGAGEMENTS, SESSIONS, CONSULTATIONS, WORKBOOK]
CSV_ENCODINGS = {ENGAGEMENTS: "cp932", SESSIONS: "cp932", CONSULTATIONS: "utf-8-sig"}

ENGAGEMENT_HEADERS = [
    "案件ID", "年度", "事業名", "コンソーシアム", "支援種別", "支援先名", "支援先区分", "都道府県",
    "市区町村", "業種", "担当ITC", "同行金融機関", "開始日", "終了日", "予定回数", "状況", "成果物",
    "成果物完成日",
]
SESSION_HEADERS = [
    "案件ID", "回", "実施日", "時間", "フェーズ", "担当ITC", "金融機関同行", "参加人数", "テーマ", "メモ",
]
CONSULTATION_HEADERS = [
    "相談ID", "相談日", "自治体名", "都道府県", "市区町村", "担当課", "枠", "相談テーマ", "形式", "時間",
    "対応ITC", "案件ID", "概要",
]
EVENT_HEADERS = [
    "イベントID", "名称", "種別", "開催日", "コンソーシアム", "都道府県", "市区町村", "参加者数",
    "参加企業数", "申込者数",
]
TARGET_HEADERS = ["年度", "コンソーシアム", "指標", "目標値"]
CSV_HEADERS = {ENGAGEMENTS: ENGAGEMENT_HEADERS, SESSIONS: SESSION_HEADERS, CONSULTATIONS: CONSULTATION_HEADERS}

STAGES = [
    "経営理念・ミッションの確認", "DX構想の検討", "DXシステム構成検討", "現状分析", "実施項目の抽出",
    "セキュリティ対策の検討", "DX計画書のとりまとめ",
]
CONSORTIA = ["茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"]
EXPECTED_LAST_DATE = dt.date(2025, 2, 28)
STALL_DAYS = 30


# --------------------------------------------------------------------------- value parsing (test-local)

def parse_date(text: str) -> dt.date:
    s = text.strip()
    if m := re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", s):
        y, mo, d = map(int, m.groups())
    elif m := re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", s):
        y, mo, d = map(int, m.groups())
    elif m := re.fullmatch(r"(?:令和|R)(\d{1,2})[./年](\d{1,2})[./月](\d{1,2})日?", s):
        r, mo, d = map(int, m.groups())
        y = 2018 + r
    else:
        raise ValueError(f"unrecognised date {text!r}")
    return dt.date(y, mo, d)


def parse_fy(text: str) -> int:
    s = text.strip()
    if m := re.fullmatch(r"(\d{4})(?:年度)?", s):
        return int(m.group(1))
    if m := re.fullmatch(r"(?:令和|R)(\d{1,2})(?:年度)?", s):
        return 2018 + int(m.group(1))
    raise ValueError(f"unrecognised fiscal year {text!r}")


def parse_minutes(text: str) -> int:
    s = text.strip()
    if s.isdigit():
        return int(s)
    if m := re.fullmatch(r"(\d+)時間(?:(\d+)分)?", s):
        return int(m.group(1)) * 60 + int(m.group(2) or 0)
    raise ValueError(f"unrecognised duration {text!r}")


# --------------------------------------------------------------------------- fixtures

def read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode(CSV_ENCODINGS[path.name])
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture(scope="module")
def engagements() -> list[dict[str, str]]:
    return read_csv(SAMPLE / ENGAGEMENTS)


@pytest.fixture(scope="module")
def sessions() -> list[dict[str, str]]:
    return read_csv(SAMPLE / SESSIONS)


@pytest.fixture(scope="module")
def consultations() -> list[dict[str, str]]:
    return read_csv(SAMPLE / CONSULTATIONS)


@pytest.fixture(scope="module")
def workbook():
    return openpyxl.load_workbook(SAMPLE / WORKBOOK)


@pytest.fixture(scope="module")
def events(workbook) -> list[dict[str, object]]:
    rows = list(workbook["セミナー・研修"].iter_rows(values_only=True))
    header = list(rows[2])
    return [dict(zip(header, r)) for r in rows[3:] if any(v is not None for v in r)]


@pytest.fixture(scope="module")
def all_dates(engagements, sessions, consultations, events) -> list[dt.date]:
    dates = []
    for row in engagements:
        for col in ("開始日", "終了日", "成果物完成日"):
            if row[col]:
                dates.append(parse_date(row[col]))
    dates += [parse_date(r["実施日"]) for r in sessions]
    dates += [parse_date(r["相談日"]) for r in consultations]
    dates += [e["開催日"].date() for e in events]
    return dates


@pytest.fixture(scope="module")
def last_date(all_dates) -> dt.date:
    return max(all_dates)


def sessions_by_engagement(sessions) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in sessions:
        grouped[row["案件ID"]].append(row)
    return grouped


# --------------------------------------------------------------------------- files and encodings

@pytest.mark.parametrize("name", ALL_FILES)
def test_file_exists(name):
    path = SAMPLE / name
    assert path.is_file(), f"{path} missing: run scripts/build_sample.py"
    assert path.stat().st_size > 0


@pytest.mark.parametrize("name", [ENGAGEMENTS, SESSIONS])
def test_cp932_files_are_cp932_not_utf8(name):
    raw = (SAMPLE / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    raw.decode("cp932")  # strict


def test_consultations_file_is_utf8_with_bom():
    raw = (SAMPLE / CONSULTATIONS).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")  # strict


@pytest.mark.parametrize("name", list(CSV_HEADERS))
def test_csv_uses_crlf_records(name):
    text = (SAMPLE / name).read_bytes().decode(CSV_ENCODINGS[name])
    records = list(csv.reader(io.StringIO(text, newline="")))
    # CRLF ends each record; newlines inside quoted cells are bare LF.
    assert text.endswith("\r\n")
    assert text.count("\r\n") == len(records)
    assert "\r" not in text.replace("\r\n", "")


@pytest.mark.parametrize("name", list(CSV_HEADERS))
def test_csv_headers_are_japanese_aliases(name):
    text = (SAMPLE / name).read_bytes().decode(CSV_ENCODINGS[name])
    header = next(csv.reader(io.StringIO(text, newline="")))
    assert header == CSV_HEADERS[name]


@pytest.mark.parametrize("name", list(CSV_HEADERS))
def test_csv_rows_have_header_width(name):
    text = (SAMPLE / name).read_bytes().decode(CSV_ENCODINGS[name])
    records = list(csv.reader(io.StringIO(text, newline="")))
    assert len(records) > 1
    assert all(len(r) == len(CSV_HEADERS[name]) for r in records)


@pytest.mark.parametrize(("sheet", "header_row", "header"), [
    ("セミナー・研修", 3, EVENT_HEADERS),
    ("目標値", 1, TARGET_HEADERS),
])
def test_workbook_sheets_and_headers(workbook, sheet, header_row, header):
    assert sheet in workbook.sheetnames
    rows = list(workbook[sheet].iter_rows(values_only=True))
    assert [v for v in rows[header_row - 1] if v is not None] == header
    assert len(rows) > header_row


def test_events_sheet_has_title_line_and_blank_row(workbook):
    rows = list(workbook["セミナー・研修"].iter_rows(values_only=True))
    assert isinstance(rows[0][0], str) and "架空" in rows[0][0]
    assert all(v is None for v in rows[1])


def test_event_dates_are_excel_date_cells(workbook, events):
    assert events
    assert all(isinstance(e["開催日"], dt.datetime) for e in events)
    ws = workbook["セミナー・研修"]
    assert all(ws.cell(row=r, column=4).is_date for r in range(4, ws.max_row + 1))


# --------------------------------------------------------------------------- keys and references

def test_keys_are_unique(engagements, sessions, consultations, events):
    ids = [r["案件ID"] for r in engagements]
    assert len(ids) == len(set(ids))
    keys = [(r["案件ID"], r["回"]) for r in sessions]
    assert len(keys) == len(set(keys))
    cids = [r["相談ID"] for r in consultations]
    assert all(cids) and len(cids) == len(set(cids))
    eids = [e["イベントID"] for e in events]
    assert all(eids) and len(eids) == len(set(eids))


def test_engagement_id_pattern(engagements):
    for row in engagements:
        assert re.fullmatch(r"[A-Z]{2}-20\d\d-\d\d", row["案件ID"]), row["案件ID"]
        assert row["案件ID"][3:7] == str(parse_fy(row["年度"]))


def test_every_session_names_a_known_engagement(engagements, sessions):
    known = {r["案件ID"] for r in engagements}
    unknown = sorted({r["案件ID"] for r in sessions} - known)
    assert not unknown


def test_consultation_links_name_known_engagements(engagements, consultations):
    known = {r["案件ID"] for r in engagements}
    assert {r["案件ID"] for r in consultations if r["案件ID"]} <= known


def test_session_numbers_are_contiguous_and_dates_increase(sessions):
    for eid, rows in sessions_by_engagement(sessions).items():
        numbers = [int(r["回"]) for r in rows]
        assert sorted(numbers) == list(range(1, len(rows) + 1)), eid
        ordered = sorted(rows, key=lambda r: int(r["回"]))
        dates = [parse_date(r["実施日"]) for r in ordered]
        assert all(a < b for a, b in zip(dates, dates[1:])), eid


def test_session_stages_in_order(sessions):
    def stage_index(text: str) -> int:
        for i, stage in enumerate(STAGES):
            if text == stage or text.replace("の", "") == stage.replace("の", "") or text.startswith(stage):
                return i
        raise AssertionError(f"stage not close to any of the seven: {text!r}")

    for eid, rows in sessions_by_engagement(sessions).items():
        ordered = sorted(rows, key=lambda r: int(r["回"]))
        idx = [stage_index(r["フェーズ"]) for r in ordered]
        assert idx == sorted(idx), eid


def test_sessions_fall_within_engagement(engagements, sessions):
    by_id = {r["案件ID"]: r for r in engagements}
    for eid, rows in sessions_by_engagement(sessions).items():
        eng = by_id[eid]
        assert eng["支援種別"] == "伴走支援"
        dates = sorted(parse_date(r["実施日"]) for r in rows)
        if eng["開始日"]:
            assert parse_date(eng["開始日"]) <= dates[0], eid
        if eng["終了日"]:
            assert dates[-1] <= parse_date(eng["終了日"]), eid
        assert len(rows) <= int(eng["予定回数"]), eid


# --------------------------------------------------------------------------- programme shape

def test_at_least_8_companies_per_consortium_and_fiscal_year(engagements):
    counts: dict[tuple[int, str], set[str]] = defaultdict(set)
    for row in engagements:
        if row["支援先区分"] == "企業":
            counts[(parse_fy(row["年度"]), row["コンソーシアム"])].add(row["支援先名"])
    for fy in (2022, 2023, 2024):
        for cons in CONSORTIA:
            assert len(counts[(fy, cons)]) >= 8, (fy, cons)


def test_company_and_person_names_are_marked_fictional(engagements, sessions, consultations):
    companies = [r["支援先名"] for r in engagements if r["支援先区分"] == "企業"]
    assert companies
    assert all("架空" in name for name in companies)
    people = [r["担当ITC"] for r in engagements] + [r["対応ITC"] for r in consultations]
    people += [p for r in sessions for p in r["担当ITC"].split("、")]
    assert all("架空" in p for p in people if p)


def test_completed_engagements_have_deliverable(engagements, sessions):
    grouped = sessions_by_engagement(sessions)
    for row in engagements:
        if row["状況"] == "完了" and row["支援種別"] == "伴走支援":
            assert row["成果物"] == "DX計画書" and row["成果物完成日"], row["案件ID"]
            assert len(grouped[row["案件ID"]]) == int(row["予定回数"]), row["案件ID"]


def test_cancelled_and_stalled_engagements_exist(engagements, sessions, last_date):
    grouped = sessions_by_engagement(sessions)
    assert any(r["状況"] == "中止" for r in engagements)
    stalled = []
    for row in engagements:
        if row["状況"] == "実施中" and grouped.get(row["案件ID"]):
            last_session = max(parse_date(s["実施日"]) for s in grouped[row["案件ID"]])
            if (last_date - last_session).days > STALL_DAYS:
                stalled.append(row["案件ID"])
    assert stalled
    # and some in-progress engagements are not stalled
    assert any(
        r["状況"] == "実施中" and grouped.get(r["案件ID"])
        and (last_date - max(parse_date(s["実施日"]) for s in grouped[r["案件ID"]])).days <= STALL_DAYS
        for r in engagements
    )


def test_no_record_after_the_sample_last_date(all_dates, last_date):
    assert last_date == EXPECTED_LAST_DATE
    assert min(all_dates) >= dt.date(2022, 4, 1)


def test_municipal_support_present(engagements, consultations, events):
    munis = {r["支援先名"] for r in engagements if r["支援先区分"] == "自治体"}
    assert {"山形市", "ふじみ野市", "岐阜市", "摂津市"} <= munis
    assert all(r["コンソーシアム"] == "" for r in engagements if r["支援先区分"] == "自治体")
    assert {r["自治体名"] for r in consultations} >= {"山形市", "ふじみ野市", "岐阜市", "摂津市"}
    for r in consultations:
        if r["形式"] == "相談会":
            assert r["枠"] in {"1", "2", "3", "4", "5", "6"}
            assert 50 <= parse_minutes(r["時間"]) <= 60
    kinds = {e["種別"] for e in events}
    assert {"DX気づきセミナー", "DXセミナー1", "DXセミナー2", "基礎研修", "職員研修"} <= kinds


def test_accepted_value_formats_are_exercised(engagements, sessions, consultations):
    dates = [r["実施日"] for r in sessions] + [r["相談日"] for r in consultations] + \
        [r["開始日"] for r in engagements]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in dates)
    assert any(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", d) for d in dates)
    assert any(d.startswith("令和") for d in dates)
    assert any(re.fullmatch(r"R\d\.\d{1,2}\.\d{1,2}", d) for d in dates)
    years = {r["年度"] for r in engagements}
    assert any(y.startswith("R") for y in years) and any(y.startswith("令和") for y in years)
    durations = {r["時間"] for r in sessions} | {r["時間"] for r in consultations}
    assert "120" in durations and "2時間" in durations and "1時間30分" in durations
    bools = {r["金融機関同行"] for r in sessions}
    assert {"○", "×", "有", "無"} <= bools
    assert any("、" in r["担当ITC"] for r in sessions)
    assert any("現状分析・課題整理" == r["フェーズ"] for r in sessions)
    notes = [r["メモ"] for r in sessions]
    assert any("\n" in n for n in notes) and any("," in n for n in notes) and any('"' in n for n in notes)
    # every value that is a date/duration still parses
    for r in sessions:
        parse_date(r["実施日"])
        parse_minutes(r["時間"])
        assert r["金融機関同行"] in {"○", "×", "有", "無"}
    for r in consultations:
        parse_date(r["相談日"])
        parse_minutes(r["時間"])


# --------------------------------------------------------------------------- determinism

def run_builder(out: Path) -> None:
    subprocess.run([sys.executable, str(BUILDER), "--out", str(out)], check=True, cwd=ROOT,
                   capture_output=True)


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory) -> tuple[Path, Path]:
    a = tmp_path_factory.mktemp("build_a")
    b = tmp_path_factory.mktemp("build_b")
    run_builder(a)
    run_builder(b)
    return a, b


@pytest.mark.parametrize("name", ALL_FILES)
def test_builder_is_deterministic(two_builds, name):
    a, b = two_builds
    assert (a / name).read_bytes() == (b / name).read_bytes()


@pytest.mark.parametrize("name", list(CSV_HEADERS))
def test_committed_sample_matches_builder(two_builds, name):
    # The .xlsx is left out: its 目標値 sheet follows data/reference/targets.csv, maintained separately.
    assert (SAMPLE / name).read_bytes() == (two_builds[0] / name).read_bytes(), \
        "data/sample is stale: rerun scripts/build_sample.py"
