"""Theme and stage matching through the real load path: taxonomy mapping with the original text kept,
Latin keywords as whole tokens, the seven stages and their variants."""
from __future__ import annotations

import pytest

from etl.load import load_files
from tests.support.etl_helpers import query, write_csv, write_engagements

# (free text in a session's テーマ cell, the canonical themes expected)
SESSION_THEMES = [
    ("ECサイトの立ち上げ", ["販路拡大・EC"]),
    ("越境EC", ["販路拡大・EC"]),
    ("ＥＣサイト", ["販路拡大・EC"]),                 # full-width letters
    ("SECURITY ACTION", ["セキュリティ"]),
    ("SECURITY ACTION 二つ星の宣言", ["セキュリティ"]),
    ("SECURITYの意識向上", []),                       # 'EC' inside a word is not EC
    ("Security policy", []),
    ("生成AIの活用", ["AI・RPAの利用推進"]),
    ("AI活用", ["AI・RPAの利用推進"]),
    ("MAILの整理", []),                               # 'AI' inside MAIL
    ("RPA導入", ["AI・RPAの利用推進"]),
    ("KPI設定", ["データ活用"]),
    ("SKPIX", []),
    ("CIO補佐官との打合せ", ["推進体制の整備"]),
    ("SOCIOLOGY", []),                                # 'CIO' inside a word
    ("Excel集計の自動化", ["業務効率化"]),
    ("DX戦略、業務効率化、DX戦略", ["経営ビジョン・DX戦略", "業務効率化"]),   # order kept, repeats dropped
    ("在庫管理、販路拡大", ["生産・在庫管理", "販路拡大・EC"]),
    ("全く関係のない話", []),
]
CONSULTATION_THEMES = [
    ("ガバメントクラウド移行の相談", "情報システムの標準化・共通化"),
    ("書かない窓口の導入", "自治体フロントヤード改革"),
    ("AI議事録", "AI・RPAの利用推進"),
    ("EMAIL運用", None),
    ("調達仕様書の確認", "調達支援"),
    ("自治体フロントヤード改革", "自治体フロントヤード改革"),
]
STAGE_CASES = [
    ("経営理念・ミッションの確認", 1, "経営理念・ミッションの確認"),
    ("DX構想検討", 2, "DX構想の検討"),
    ("現状分析・課題整理", 4, "現状分析"),
    ("現状分析", 4, "現状分析"),
    ("DX計画書とりまとめ", 7, "DX計画書のとりまとめ"),
    ("セキュリティ対策の検討", 6, "セキュリティ対策の検討"),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("themes")
    src = folder / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv", ids=("TH-1",))
    sessions = [["TH-1", str(n), "2022-10-05", text, ""] for n, (text, _) in enumerate(SESSION_THEMES, start=1)]
    sessions += [["TH-1", str(100 + n), "2022-10-05", "", stage]
                 for n, (stage, _, _) in enumerate(STAGE_CASES, start=1)]
    sessions += [["TH-1", "200", "2022-10-05", "", "雑談"]]
    write_csv(src / "伴走記録.csv", ["案件ID", "回", "実施日", "テーマ", "フェーズ"], sessions, encoding="cp932")
    write_csv(src / "相談記録.csv", ["相談ID", "相談日", "自治体名", "都道府県", "相談テーマ"],
              [[f"C{n}", "2022-10-05", "山形市", "山形県", text] for n, (text, _) in enumerate(CONSULTATION_THEMES)])
    path = folder / "dx.duckdb"
    report = load_files([src], path)
    assert report.loaded and report.errors == []
    return path, report


@pytest.mark.parametrize("n,text,expected", [(n, t, e) for n, (t, e) in enumerate(SESSION_THEMES, start=1)],
                         ids=[t for t, _ in SESSION_THEMES])
def test_session_themes(db, n, text, expected):
    path, _ = db
    [(themes, original)] = query(path, "SELECT themes, themes_original FROM sessions WHERE session_no = ?", [n])
    assert (themes or []) == expected
    # the original is kept as written, after trimming and full-width ASCII → half-width (dx_text)
    assert original == text.replace("ＥＣ", "EC")


@pytest.mark.parametrize("n,text,expected", [(n, t, e) for n, (t, e) in enumerate(CONSULTATION_THEMES)],
                         ids=[t for t, _ in CONSULTATION_THEMES])
def test_consultation_theme(db, n, text, expected):
    path, _ = db
    assert query(path, "SELECT theme, theme_original FROM consultations WHERE consultation_id = ?", [f"C{n}"]) == \
        [(expected, text)]


@pytest.mark.parametrize("n,text,stage_no,stage", [(n, *c) for n, c in enumerate(STAGE_CASES, start=1)],
                         ids=[c[0] for c in STAGE_CASES])
def test_stage_variants(db, n, text, stage_no, stage):
    path, _ = db
    assert query(path, "SELECT stage_no, stage, stage_original FROM sessions WHERE session_no = ?", [100 + n]) == \
        [(stage_no, stage, text)]


def test_unmatched_stage_is_kept_with_a_warning(db):
    path, report = db
    assert query(path, "SELECT stage_no, stage, stage_original FROM sessions WHERE session_no = 200") == \
        [(None, None, "雑談")]
    assert any("伴走記録.csv" in w and "フェーズ" in w and "雑談" in w for w in report.warnings)


def test_unmapped_theme_warnings_are_aggregated(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv", ids=("W-1",))
    write_csv(src / "伴走記録.csv", ["案件ID", "回", "実施日", "テーマ"],
              [["W-1", str(n), "2022-10-05", "雑談"] for n in range(1, 9)])
    report = load_files([src], tmp_path / "dx.duckdb")
    lines = [w for w in report.warnings if "テーマ分類" in w]
    assert lines == ["伴走記録.csv 「テーマ」: テーマ分類に当てはまらない語があります（原文のまま保存します）（値: 雑談）"
                     " — 8 行（2、3、4、5、6…行目）"]
