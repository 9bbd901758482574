"""The hand-made fixture database: a few engagements, sessions, consultations, events and targets whose figures are
known (the mart and page tests compare with them), written straight into the schema and the marts built over it."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from etl.marts import build_marts
from etl.paths import SQL_DIR

D = dt.date
AS_OF = D(2022, 12, 20)
IBARAKI = "茨城県DX支援コミュニティ"
NAGANO = "長野県DX支援コミュニティ"
STAGES = ["経営理念・ミッションの確認", "DX構想の検討", "DXシステム構成検討", "現状分析",
          "実施項目の抽出", "セキュリティ対策の検討", "DX計画書のとりまとめ"]


def _sessions_every(eng, start: dt.date, stages, banks, step=14):
    return [(eng, i + 1, start + dt.timedelta(days=step * i), stages[i], banks[i]) for i in range(len(stages))]


# engagement_id, fy, consortium, support_type, client, client_type, pref, pref_code, muni, muni_code, planned,
# status, start, end, deliverable, deliverable_date, lead ITC
ENGAGEMENTS = [
    ("E1", 2022, IBARAKI, "伴走支援", "架空A社", "企業", "茨城県", "08", "筑西市", "082279", 10, "実施中",
     D(2022, 8, 1), None, None, None, "架空ITC一郎"),
    ("E2", 2022, IBARAKI, "伴走支援", "架空B社", "企業", "茨城県", "08", "水戸市", "082015", 10, "完了",
     D(2022, 7, 1), D(2022, 12, 10), "DX計画書", D(2022, 12, 10), "架空ITC二郎"),
    ("E3", 2022, NAGANO, "伴走支援", "架空C社", "企業", "長野県", "20", "長野市", "202011", 10, "実施中",
     D(2022, 9, 1), None, None, None, "架空ITC三郎"),
    ("E4", 2022, NAGANO, "伴走支援", "架空D社", "企業", "長野県", "20", "長野市", "202011", 8, "中止",
     D(2022, 8, 1), D(2022, 9, 30), None, None, "架空ITC三郎"),
    ("E5", 2022, None, "ITCアドバイザー", "山形市", "自治体", "山形県", "06", "山形市", "062014", None, "実施中",
     D(2022, 4, 1), D(2023, 3, 31), None, None, "架空ITC四郎"),
    ("E6", 2021, IBARAKI, "伴走支援", "架空Z社", "企業", "茨城県", "08", "筑西市", "082279", 2, "完了",
     D(2021, 9, 1), D(2022, 2, 28), "DX計画書", D(2022, 2, 28), "架空ITC一郎"),
]
SESSIONS = (
    [("E1", 1, D(2022, 8, 10), 1, True), ("E1", 2, D(2022, 8, 24), 2, False),
     ("E1", 3, D(2022, 9, 7), 2, True), ("E1", 4, D(2022, 9, 21), 3, None)]
    + _sessions_every("E2", D(2022, 8, 1), [1, 1, 2, 3, 4, 4, 5, 6, 7, 7],
                      [True, False] * 5)
    + _sessions_every("E3", D(2022, 9, 26), [1, 2, 2, 3, 3, 4], [False] * 6)
    + [("E4", 1, D(2022, 8, 2), 1, False), ("E4", 2, D(2022, 8, 16), 1, False)]
    + [("E6", 1, D(2021, 10, 1), 1, True), ("E6", 2, D(2021, 10, 15), 7, True)]
)
SESSION_THEMES = {("E1", 1): ["経営ビジョン・DX戦略", "業務効率化", "業務効率化"], ("E1", 2): ["業務効率化"],
                  ("E3", 1): ["データ活用"]}
# consultation_id, date, client, pref, muni, theme, engagement_id
CONSULTATIONS = [
    ("C1", D(2022, 10, 5), "山形市", "山形県", "山形市", "セキュリティ対策の徹底", None),
    ("C2", D(2022, 11, 10), "山形市", "山形県", "山形市", "調達支援", "E5"),
    ("C3", D(2022, 9, 1), "筑西市", "茨城県", "筑西市", "AI・RPAの利用推進", None),
    ("C4", D(2022, 9, 15), "架空A社", "茨城県", "筑西市", "業務効率化", "E1"),
    ("C5", D(2022, 10, 20), "長野市", "長野県", "長野市", "自治体フロントヤード改革", None),
]
# event_id, name, kind, date, consortium, prefecture, attendees
EVENTS = [
    ("EV1", "DX気づきセミナー（茨城）", "DX気づきセミナー", D(2022, 6, 10), IBARAKI, "茨城県", 40),
    ("EV2", "DXセミナー1（茨城）", "DXセミナー1", D(2022, 7, 8), IBARAKI, "茨城県", 30),
    ("EV3", "DX気づきセミナー（長野）", "DX気づきセミナー", D(2022, 6, 15), NAGANO, "長野県", 55),
    ("EV4", "自治体ビジネス基礎研修", "基礎研修", D(2022, 5, 20), None, None, 120),
    ("EV5", "DXセミナー1（茨城）", "DXセミナー1", D(2021, 11, 1), IBARAKI, "茨城県", 25),
]
TARGETS = [
    (2022, "", "支援企業数", 10), (2022, "", "伴走回数", 100), (2022, "", "DX計画書策定数", 10),
    (2022, "", "セミナー参加者数", 300), (2022, "", "相談件数", 20),
    (2022, IBARAKI, "支援企業数", 5), (2022, IBARAKI, "伴走回数", 50), (2022, IBARAKI, "DX計画書策定数", 5),
    (2022, IBARAKI, "セミナー参加者数", 140),
    (2022, NAGANO, "支援企業数", 4), (2022, NAGANO, "伴走回数", 40), (2022, NAGANO, "DX計画書策定数", 4),
    (2022, NAGANO, "セミナー参加者数", 110),
    (2022, IBARAKI, "金融機関同行率", 50), (2022, NAGANO, "金融機関同行率", 40),
    (2021, IBARAKI, "支援企業数", 1),
]


def fiscal_year_of(d: dt.date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def make_fixture_db(path: Path, *, is_sample: bool = False) -> Path:
    """Schema + the rows above + marts, in a new DuckDB file at ``path``."""
    con = duckdb.connect(str(path))
    try:
        con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))
        con.executemany("INSERT INTO prefectures (prefecture_code, prefecture, lat, lng) VALUES (?, ?, ?, ?)",
                        [("06", "山形県", 38.24, 140.36), ("08", "茨城県", 36.34, 140.45),
                         ("20", "長野県", 36.65, 138.18)])
        con.executemany("INSERT INTO municipalities (municipality_code, code5, prefecture_code, prefecture, "
                        "municipality, lat, lng) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [("062014", "06201", "06", "山形県", "山形市", 38.25, 140.33),
                         ("082015", "08201", "08", "茨城県", "水戸市", 36.36, 140.47),
                         ("082279", "08227", "08", "茨城県", "筑西市", 36.31, 139.98),
                         ("202011", "20201", "20", "長野県", "長野市", 36.65, 138.18)])
        con.executemany("INSERT INTO stages VALUES (?, ?, ?)", [(i + 1, s, []) for i, s in enumerate(STAGES)])
        con.executemany("INSERT INTO themes (theme_id, theme, audience, sort_order) VALUES (?, ?, ?, ?)",
                        [("C01", "経営ビジョン・DX戦略", "企業", 1), ("C02", "業務効率化", "企業", 2),
                         ("C06", "データ活用", "企業", 6), ("M01", "自治体フロントヤード改革", "自治体", 11),
                         ("M05", "セキュリティ対策の徹底", "自治体", 15), ("M06", "AI・RPAの利用推進", "自治体", 16),
                         ("M10", "調達支援", "自治体", 20)])
        con.executemany("INSERT INTO support_types (support_type, client_type, sort_order) VALUES (?, ?, ?)",
                        [("伴走支援", "企業", 1), ("CIO補佐官", "自治体", 2), ("ITCアドバイザー", "自治体", 3),
                         ("研修", None, 7), ("相談会", None, 8)])
        con.executemany("INSERT INTO consortia (consortium, prefecture, lead_org) VALUES (?, ?, ?)",
                        [(IBARAKI, "茨城県", "ITコーディネータ茨城"), (NAGANO, "長野県", "長野県ITコーディネータ協議会")])
        con.executemany(
            "INSERT INTO engagements (engagement_id, fiscal_year, consortium, support_type, client_name, client_type,"
            " prefecture, prefecture_code, municipality, municipality_code, planned_sessions, status, start_date,"
            " end_date, deliverable, deliverable_date, lead_coordinator) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ENGAGEMENTS)
        con.executemany(
            "INSERT INTO sessions (engagement_id, session_no, date, fiscal_year, duration_min, stage_no, stage,"
            " stage_original, coordinators, bank_attended, attendees, themes, themes_original, notes) "
            "VALUES (?, ?, ?, ?, 120, ?, ?, ?, ?, ?, 3, ?, ?, ?)",
            [(e, n, d, fiscal_year_of(d), st, STAGES[st - 1], STAGES[st - 1], ["架空ITC一郎"], bank,
              SESSION_THEMES.get((e, n), []), "、".join(SESSION_THEMES.get((e, n), [])),
              f"第{n}回の記録。\n\"引用\", カンマ") for e, n, d, st, bank in SESSIONS])
        con.executemany(
            "INSERT INTO consultations (consultation_id, date, fiscal_year, client_name, prefecture, municipality,"
            " theme, theme_original, channel, engagement_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '相談会', ?)",
            [(c, d, fiscal_year_of(d), cl, p, m, t, t, e) for c, d, cl, p, m, t, e in CONSULTATIONS])
        con.executemany(
            "INSERT INTO events (event_id, name, kind, date, fiscal_year, consortium, prefecture, attendees) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, n, k, d, fiscal_year_of(d), c, p, a) for i, n, k, d, c, p, a in EVENTS])
        con.executemany("INSERT INTO targets (fiscal_year, consortium, indicator, target) VALUES (?, ?, ?, ?)",
                        TARGETS)
        con.executemany("INSERT INTO meta VALUES (?, ?)",
                        [("data_as_of", AS_OF.isoformat()), ("is_sample", "true" if is_sample else "false")])
        build_marts(con)
    finally:
        con.close()
    return path


def records_database(path: Path) -> Path:
    """The sample programme loaded through etl.load as ordinary records (not marked as sample), so that a new load
    adds to it; the records the stewardship, intake and upload tests start from."""
    from etl.load import load_files  # noqa: PLC0415  (etl.load is heavy; the fixture database above needs none of it)
    from etl.paths import SAMPLE_DIR  # noqa: PLC0415
    report = load_files([SAMPLE_DIR], path)
    assert report.loaded
    return path
