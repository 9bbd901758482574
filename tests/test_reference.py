"""The committed reference data in data/reference/ (built by scripts/build_reference.py).

Reads only the committed files: none of the build packages are needed.
"""
from __future__ import annotations

import csv
import json
import re
import unicodedata
from pathlib import Path

import pytest

REF = Path(__file__).resolve().parent.parent / "data" / "reference"
PRODUCT = Path(__file__).resolve().parents[2] / "shared" / "PRODUCT.md"  # shared/ beside the work tree

JAPAN_LNG = (122.0, 154.0)
JAPAN_LAT = (20.0, 46.0)

STAGES = ["経営理念・ミッションの確認", "DX構想の検討", "DXシステム構成検討", "現状分析", "実施項目の抽出",
          "セキュリティ対策の検討", "DX計画書のとりまとめ"]

# Themes named in PRODUCT.md (自治体DX推進計画 重点取組事項 + 推進体制 etc., and company themes).
PRODUCT_THEMES = {
    "自治体": ["自治体フロントヤード改革", "情報システムの標準化・共通化", "公金収納におけるeLTAXの活用",
             "マイナンバーカードの普及促進・利用の推進", "セキュリティ対策の徹底", "AI・RPAの利用推進",
             "テレワークの推進", "推進体制の整備", "行政手続のオンライン化", "調達支援", "導入支援"],
    "企業": ["経営ビジョン・DX戦略", "業務効率化", "情報共有", "販路拡大・EC", "生産・在庫管理", "データ活用",
           "セキュリティ", "DX認定"],
}


def read_csv(name: str) -> list[dict]:
    raw = (REF / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{name} has a BOM"
    assert b"\r\n" not in raw, f"{name} has CRLF line ends"
    with (REF / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def check_digit(code5: str) -> str:
    s = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return str((11 - s % 11) % 10)


@pytest.fixture(scope="module")
def prefectures():
    return read_csv("prefectures.csv")


@pytest.fixture(scope="module")
def municipalities():
    return read_csv("municipalities.csv")


@pytest.fixture(scope="module")
def geojson():
    return json.loads((REF / "prefectures.geojson").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def themes():
    return read_csv("themes.csv")


# ── prefectures ──────────────────────────────────────────────────────────────
def test_47_prefectures(prefectures):
    assert [p["prefecture_code"] for p in prefectures] == [f"{i:02d}" for i in range(1, 48)]
    assert len({p["prefecture"] for p in prefectures}) == 47
    assert all(re.fullmatch(r".+[都道府県]", p["prefecture"]) for p in prefectures)
    assert {p["region"] for p in prefectures} == {"北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州・沖縄"}
    for p in prefectures:
        assert JAPAN_LNG[0] <= float(p["lng"]) <= JAPAN_LNG[1] and JAPAN_LAT[0] <= float(p["lat"]) <= JAPAN_LAT[1]


@pytest.mark.parametrize("code,name,region", [("01", "北海道", "北海道"), ("08", "茨城県", "関東"),
                                              ("20", "長野県", "中部"), ("24", "三重県", "近畿"),
                                              ("47", "沖縄県", "九州・沖縄")])
def test_prefecture_examples(prefectures, code, name, region):
    row = next(p for p in prefectures if p["prefecture_code"] == code)
    assert (row["prefecture"], row["region"]) == (name, region)


def test_geojson_matches_prefectures(geojson, prefectures):
    assert geojson["type"] == "FeatureCollection"
    assert len(geojson["features"]) == 47
    got = [(f["properties"]["prefecture_code"], f["properties"]["prefecture"]) for f in geojson["features"]]
    assert got == [(p["prefecture_code"], p["prefecture"]) for p in prefectures]


def test_geojson_coordinates_are_lng_lat_in_japan(geojson):
    for f in geojson["features"]:
        geom = f["geometry"]
        assert geom["type"] in ("Polygon", "MultiPolygon")
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for poly in polys:
            for ring in poly:
                assert len(ring) >= 4 and ring[0] == ring[-1]
                for lng, lat in ring:
                    assert JAPAN_LNG[0] <= lng <= JAPAN_LNG[1], (f["properties"], lng, lat)
                    assert JAPAN_LAT[0] <= lat <= JAPAN_LAT[1], (f["properties"], lng, lat)


def test_geojson_is_small():
    assert (REF / "prefectures.geojson").stat().st_size <= 1_500_000


# ── municipalities ───────────────────────────────────────────────────────────
def test_1741_unique_municipalities(municipalities):
    assert len(municipalities) == 1741
    codes = [m["municipality_code"] for m in municipalities]
    assert len(set(codes)) == 1741
    assert len({(m["prefecture"], m["municipality"]) for m in municipalities}) == 1741


def test_codes_and_check_digits(municipalities, prefectures):
    pref_by_code = {p["prefecture_code"]: p["prefecture"] for p in prefectures}
    for m in municipalities:
        code = m["municipality_code"]
        assert re.fullmatch(r"\d{6}", code), code
        assert code[5] == check_digit(code[:5]), f"bad check digit: {code} {m['municipality']}"
        assert m["code5"] == code[:5]
        assert m["prefecture_code"] == code[:2]
        assert m["prefecture"] == pref_by_code[code[:2]]
        assert code[2:5] != "000", "prefectures must not be listed as municipalities"


def test_no_designated_city_wards(municipalities):
    # 政令指定都市の区 are not listed; 東京都's 23 特別区 are.
    wards = [m for m in municipalities if m["municipality"].endswith("区")]
    assert all(m["prefecture"] == "東京都" for m in wards), [m["municipality"] for m in wards if m["prefecture"] != "東京都"]
    assert len(wards) == 23
    assert any(m["municipality"] == "横浜市" for m in municipalities)


def test_current_names(municipalities):
    names = {(m["prefecture"], m["municipality"]) for m in municipalities}
    assert ("兵庫県", "丹波篠山市") in names
    assert not any(m["municipality"] == "篠山市" for m in municipalities)


def test_every_municipality_has_lat_lng_in_japan(municipalities):
    for m in municipalities:
        lat, lng = float(m["lat"]), float(m["lng"])
        assert JAPAN_LNG[0] <= lng <= JAPAN_LNG[1] and JAPAN_LAT[0] <= lat <= JAPAN_LAT[1], m


def test_municipality_near_its_prefecture(municipalities, prefectures):
    # Coarse plausibility: within ~9 degrees of the prefectural capital (小笠原村 is the far one).
    capital = {p["prefecture_code"]: (float(p["lat"]), float(p["lng"])) for p in prefectures}
    for m in municipalities:
        lat0, lng0 = capital[m["prefecture_code"]]
        assert abs(float(m["lat"]) - lat0) < 9 and abs(float(m["lng"]) - lng0) < 9, m


@pytest.mark.parametrize("name,prefecture,code", [
    ("筑西市", "茨城県", "082279"), ("水戸市", "茨城県", "082015"), ("山形市", "山形県", "062014"),
    ("岐阜市", "岐阜県", "212016"), ("ふじみ野市", "埼玉県", "112453"), ("摂津市", "大阪府", "272248"),
    ("長野市", "長野県", "202011"),
])
def test_named_municipalities(municipalities, name, prefecture, code):
    rows = [m for m in municipalities if m["municipality"] == name]
    assert [(m["prefecture"], m["municipality_code"]) for m in rows] == [(prefecture, code)]


def test_kana_is_full_width(municipalities, prefectures):
    for row, col in [(m, "municipality_kana") for m in municipalities] + [(p, "prefecture_kana") for p in prefectures]:
        assert row[col] and row[col] == unicodedata.normalize("NFKC", row[col]), row


# ── stages, themes, support types, consortia, targets ────────────────────────
def test_stages_in_order():
    rows = read_csv("stages.csv")
    assert [int(r["stage_no"]) for r in rows] == list(range(1, 8))
    assert [r["stage"] for r in rows] == STAGES
    assert all(r["keywords"] for r in rows)


def _keyword_owners(rows, name_col):
    owners: dict[str, set[str]] = {}
    for r in rows:
        for kw in r["keywords"].split("|"):
            assert kw.strip() == kw and kw, (r[name_col], kw)
            owners.setdefault(unicodedata.normalize("NFKC", kw).casefold(), set()).add(r[name_col])
    return owners


def test_stage_keywords_disjoint():
    dup = {k: v for k, v in _keyword_owners(read_csv("stages.csv"), "stage").items() if len(v) > 1}
    assert not dup


@pytest.mark.parametrize("audience,theme", [(a, t) for a, ts in PRODUCT_THEMES.items() for t in ts])
def test_product_themes_present(themes, audience, theme):
    assert [r["audience"] for r in themes if r["theme"] == theme] == [audience]


def test_themes_named_in_product_md_present(themes):
    if not PRODUCT.exists():
        pytest.skip("shared/PRODUCT.md not beside the work tree")
    text = PRODUCT.read_text(encoding="utf-8")
    names = {r["theme"] for r in themes}
    for t in [t for ts in PRODUCT_THEMES.values() for t in ts if t != "推進体制の整備"]:
        assert t in text, f"{t} no longer named in PRODUCT.md"
        assert t in names


def test_theme_ids_and_order(themes):
    assert len({r["theme_id"] for r in themes}) == len(themes)
    assert len({r["theme"] for r in themes}) == len(themes)
    for r in themes:
        assert r["audience"] in ("自治体", "企業", "共通")
        prefix = {"自治体": "M", "企業": "C", "共通": "X"}[r["audience"]]
        assert re.fullmatch(prefix + r"\d{2}", r["theme_id"]), r
    assert [int(r["sort_order"]) for r in themes] == list(range(1, len(themes) + 1))


def test_theme_keywords_disjoint(themes):
    owners = _keyword_owners(themes, "theme")
    dup = {k: v for k, v in owners.items() if len(v) > 1}
    assert not dup
    assert all(len(r["keywords"].split("|")) >= 3 for r in themes)
    # no keyword is the exact name of another theme (an exact theme name maps to itself)
    names = {unicodedata.normalize("NFKC", r["theme"]).casefold(): r["theme"] for r in themes}
    for kw, who in owners.items():
        if kw in names:
            assert who == {names[kw]}


def test_support_types():
    rows = read_csv("support_types.csv")
    got = {r["support_type"]: r["client_type"] for r in rows}
    assert got == {"伴走支援": "企業", "CIO補佐官": "自治体", "ITCアドバイザー": "自治体", "計画策定支援": "自治体",
                   "調達支援": "自治体", "導入支援": "自治体", "研修": "自治体", "相談会": "自治体"}
    assert all(r["description"] for r in rows)


def test_consortia():
    rows = {r["consortium"]: r for r in read_csv("consortia.csv")}
    ib, na = rows["茨城県DX支援コミュニティ"], rows["長野県DX支援コミュニティ"]
    assert (ib["prefecture"], ib["lead_org"]) == ("茨城県", "ITコーディネータ茨城")
    ib_members = ib["members"].split("|")
    assert ib_members[:4] == ["ITコーディネータ茨城", "いばらき中小企業グローバル推進機構", "茨城県経営者協会", "常陽銀行"]
    assert len(ib_members) == 5 and "架空" in ib_members[4]
    assert (na["prefecture"], na["lead_org"]) == ("長野県", "長野県ITコーディネータ協議会")
    assert na["members"].split("|") == ["長野県ITコーディネータ協議会", "長野県産業振興機構", "長野県経営者協会",
                                        "八十二銀行", "長野県情報サービス振興協会"]


def test_targets():
    rows = read_csv("targets.csv")
    consortia = {r["consortium"] for r in read_csv("consortia.csv")}
    keys = [(r["fiscal_year"], r["consortium"], r["indicator"]) for r in rows]
    assert len(set(keys)) == len(keys)
    assert {r["fiscal_year"] for r in rows} == {"2022", "2023", "2024"}
    assert {r["consortium"] for r in rows} == consortia | {""}
    for r in rows:
        assert float(r["target"]) >= 0
    for fy in ("2022", "2023", "2024"):
        for c in consortia:
            got = {r["indicator"] for r in rows if r["fiscal_year"] == fy and r["consortium"] == c}
            assert {"支援企業数", "伴走回数", "DX計画書策定数", "セミナー参加者数"} <= got
        got = {r["indicator"] for r in rows if r["fiscal_year"] == fy and r["consortium"] == ""}
        assert {"相談件数", "支援自治体数"} <= got


def test_sources_documented():
    text = (REF / "SOURCES.md").read_text(encoding="utf-8")
    for name in ["prefectures.csv", "prefectures.geojson", "municipalities.csv", "stages.csv", "themes.csv",
                 "support_types.csv", "consortia.csv", "targets.csv", "build_reference.py", "丹波篠山市"]:
        assert name in text
