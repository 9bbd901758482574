"""Synthetic record files at national scale, in the real input format.

`generate(out_dir, sessions, seed)` writes one UTF-8 CSV per record kind (支援案件.csv, 伴走記録.csv, 相談記録.csv,
セミナー・研修.csv, 目標値.csv) with the Japanese headers of etl/kinds.py, so the files go through the same load
path as a user's upload. Everything is generated inside DuckDB from `range(n)`: each random choice is a hash of
(row index, purpose, seed), so the output is the same bytes for the same seed and is fast (1,000,000 sessions in
seconds, not a Python loop per row).

Shape of the data (see docs/performance.md):
- sessions: exactly `sessions` rows, 伴走支援 of fictional companies (names marked 架空), up to 10 per engagement,
  about two weeks apart, stages in order; some engagements stalled for weeks, a few cancelled (中止), the latest
  ones still in progress or not started (予定);
- engagements: about sessions / 9 company engagements (most complete 10 sessions) plus ~4 % municipal support
  (CIO補佐官, ITCアドバイザー, 計画策定支援, 調達支援, 導入支援, 研修, 相談会) with no sessions;
- consultations: as many as sessions, municipal themes (重点取組事項) with Zipf-like skew, some linked to a
  municipal engagement;
- events: sessions / 50 seminars, trainings and 相談会; targets: per fiscal year × consortium, scaled to the data.
Places: all 47 prefectures weighted by population (茨城・長野, the original consortia, boosted), municipalities
weighted by class (政令市 > 県庁所在地 > 特別区 > 市 > 町 > 村) times a heavy-tailed per-municipality factor.
Fiscal years 2022–2025 (growing), data as of 2026-01-31. Values use a realistic mix of formats (ISO and
slash dates, 令和 dates, ○/× and 有/無, minutes and 時間) that the loader normalises.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import duckdb

from .kinds import KINDS, STAGES
from .paths import REFERENCE_DIR

AS_OF = "2026-01-31"
FISCAL_YEARS = (2022, 2023, 2024, 2025)
FY_WEIGHTS = (1.0, 1.3, 1.6, 1.9)
FILE_NAMES = {"engagements": "支援案件.csv", "sessions": "伴走記録.csv", "consultations": "相談記録.csv",
              "events": "セミナー・研修.csv", "targets": "目標値.csv"}
SLOT_TOTAL = 200_000          # resolution of the weighted municipality choice

# population in units of 10,000 (2020 census, rounded), prefecture codes 01..47
PREF_POP = (522, 124, 121, 230, 96, 107, 183, 287, 193, 194, 734, 628, 1405, 924, 220, 103, 113, 77, 81, 205,
            198, 363, 754, 177, 141, 258, 884, 547, 132, 92, 55, 67, 189, 280, 134, 72, 95, 133, 69, 513, 81,
            131, 174, 112, 107, 159, 147)
PREF_BOOST = {"08": 2.0, "20": 2.0}   # 茨城県, 長野県: the programme's first consortia
SEIREI = ("札幌市", "仙台市", "さいたま市", "千葉市", "横浜市", "川崎市", "相模原市", "新潟市", "静岡市", "浜松市",
          "名古屋市", "京都市", "大阪市", "堺市", "神戸市", "岡山市", "広島市", "北九州市", "福岡市", "熊本市")

SURNAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木",
            "山口", "松本", "井上", "木村", "林", "斎藤", "清水", "山崎", "森", "池田", "橋本", "阿部", "石川", "前田",
            "藤田", "小川", "岡田")
GIVEN = ("一郎", "花子", "健一", "美香", "誠", "裕子", "隆", "恵", "大輔", "由美", "聡", "直子", "浩", "陽子", "修",
         "真理", "亮", "智子", "剛", "綾")
ROOTS = ("青葉", "若葉", "北斗", "東光", "大和", "朝日", "旭", "富士", "光", "中央", "平和", "昭和", "三和", "日進",
         "共栄", "丸山", "山本", "高橋", "田中", "松井", "ひかり", "さくら", "みどり", "あおい", "はやて", "つばさ",
         "みらい", "かなめ", "千代", "北辰")
# company name word → industry (Zipf-ish by position)
WORDS = (("製作所", "製造業"), ("工業", "製造業"), ("建設", "建設業"), ("商事", "卸売業"), ("食品", "製造業"),
         ("精機", "製造業"), ("運輸", "運輸業"), ("商店", "小売業"), ("電機", "製造業"), ("印刷", "製造業"),
         ("工務店", "建設業"), ("物産", "卸売業"), ("観光", "宿泊・飲食サービス業"), ("ホテル", "宿泊・飲食サービス業"),
         ("システム", "情報通信業"), ("技研", "製造業"), ("酒造", "製造業"), ("設計", "サービス業"),
         ("不動産", "不動産業"), ("金属", "製造業"), ("化成", "製造業"), ("水産", "漁業"), ("農園", "農業"),
         ("製菓", "製造業"), ("介護サービス", "医療・福祉"), ("電設", "建設業"), ("木材", "製造業"),
         ("繊維", "製造業"), ("薬品", "卸売業"), ("鋳造", "製造業"))
BANK_SUFFIX = ("中央銀行", "第一銀行", "信用金庫", "みらい銀行", "信用組合")

# company themes (sessions): taxonomy names and phrases containing one of their keywords
SESSION_THEMES = (
    "業務効率化", "データ活用", "経営ビジョン・DX戦略", "情報共有", "生産・在庫管理", "販路拡大・EC", "セキュリティ",
    "ペーパーレス化の検討", "在庫管理の見直し", "売上データの見える化", "中期経営計画の確認", "グループウェアの導入",
    "ECサイトの立ち上げ", "SECURITY ACTIONの宣言", "DX認定", "受発注のデジタル化", "顧客管理の一元化",
    "二重入力の解消", "ホームページの刷新", "バックアップ体制の整備",
)
# municipal themes (consultations)
CONSULT_THEMES = (
    "情報システムの標準化・共通化", "自治体フロントヤード改革", "行政手続のオンライン化", "AI・RPAの利用推進",
    "セキュリティ対策の徹底", "導入支援", "調達支援", "マイナンバーカードの普及促進・利用の推進", "推進体制の整備",
    "公金収納におけるeLTAXの活用", "テレワークの推進", "ガバメントクラウド移行の進め方", "書かない窓口の導入",
    "生成AIの庁内利用ルール", "電子申請の対象手続の拡大", "調達仕様書の確認", "RPAの対象業務選定",
    "職員研修の企画", "コンビニ交付の導入", "地方税統一QRコードへの対応",
)
DEPARTMENTS = ("情報政策課", "DX推進課", "総務課", "企画課", "市民課", "税務課", "財政課", "健康福祉課", "教育委員会",
               "会計課")
CHANNELS = ("相談会", "オンライン", "訪問", "電話", "メール")
SLOTS = ("9:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00")
MUNI_SUPPORT = ("ITCアドバイザー", "調達支援", "導入支援", "CIO補佐官", "計画策定支援", "研修", "相談会")
STAGE_VARIANTS = {4: "現状分析・課題整理", 2: "DX構想検討", 7: "DX計画書とりまとめ"}
NOTES = (
    "社長と担当者が参加。前回の宿題を確認し、次回までの作業を決めた。",
    "現場の業務フローをヒアリングした。課題を整理し、優先度を付けた。",
    "社長、専務、総務課長が参加。\"見える化\"を合言葉に進める。",
    "金融機関の担当者が同席し、設備投資の資金計画についても意見交換した。",
    "議事:\n1. 前回の振り返り\n2. 次回までの宿題",
    "ベンダーの見積を比較し、費用対効果を検討した。",
    "社内説明会の資料を一緒に作成した。",
    "従業員アンケートの結果を共有し、デジタル化の優先順位を議論した。",
    "", "",
)
SUMMARIES = ("に関する相談。進め方と体制を確認した。", "について助言した。次回までに庁内で検討する。",
             "の事例を紹介し、質疑に応じた。", "の仕様書案を確認し、修正点を伝えた。", "")
EVENT_KINDS = ("DX気づきセミナー", "DXセミナー1", "DXセミナー2", "相談会", "職員研修", "その他", "基礎研修")


def _zipf(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (r + 1) ** s for r in range(n)]


def _lit(v) -> str:
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return repr(v)


class _Sql:
    """SQL snippets for deterministic pseudo-random choices keyed by a row index and a purpose."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def r(self, key: str, salt: str, mod: int) -> str:
        """integer in [0, mod) from hash(key, salt, seed)."""
        return f"(hash({key}, '{salt}', {self.seed}) % {int(mod)})::BIGINT"

    def u(self, key: str, salt: str) -> str:
        """uniform in [0, 1), as a DOUBLE built from an integer (platform-independent)."""
        return f"({self.r(key, salt, 1_000_000)} / 1000000.0)"

    def pick(self, values, weights, key: str, salt: str, resolution: int = 1000) -> str:
        """values[i] with probability weights[i] / sum(weights)."""
        total = float(sum(weights))
        slots: list[int] = []
        acc = 0.0
        for i, w in enumerate(weights):
            acc += w
            upto = round(acc / total * resolution)
            slots.extend([i + 1] * (upto - len(slots)))
        slots.extend([len(values)] * (resolution - len(slots)))
        vals = "[" + ", ".join(_lit(v) for v in values) + "]"
        return f"({vals})[([{', '.join(map(str, slots))}])[1 + {self.r(key, salt, resolution)}]]"


def _date_text(expr: str, key: str, q: _Sql, salt: str) -> str:
    """A DATE rendered the way people type it: mostly ISO, some 2022/10/5, some R4.10.5 / 令和4年10月5日."""
    return f"""(CASE WHEN {expr} IS NULL THEN NULL
        WHEN {q.r(key, salt, 100)} < 84 THEN strftime({expr}, '%Y-%m-%d')
        WHEN {q.r(key, salt, 100)} < 94 THEN strftime({expr}, '%Y/%-m/%-d')
        WHEN {q.r(key, salt, 100)} < 97 THEN 'R' || (year({expr}) - 2018) || '.' || month({expr}) || '.' || day({expr})
        ELSE '令和' || (year({expr}) - 2018) || '年' || month({expr}) || '月' || day({expr}) || '日' END)"""


def _person(pref_code: str, idx: str, seed: int) -> str:
    """A fictional ITC of a prefecture's pool: the same (prefecture, index) is always the same name."""
    sn = "[" + ", ".join(_lit(s) for s in SURNAMES) + "]"
    gn = "[" + ", ".join(_lit(s) for s in GIVEN) + "]"
    return (f"({sn}[1 + (hash({pref_code}, {idx}, 'sn', {seed}) % {len(SURNAMES)})::BIGINT] || ' ' || "
            f"{gn}[1 + (hash({pref_code}, {idx}, 'gn', {seed}) % {len(GIVEN)})::BIGINT] || '（架空）')")


def _copy(con, select_sql: str, kind: str, path: Path, order_by: str) -> None:
    """COPY the kind's columns (Japanese headers) of select_sql, in a total order, to a CSV file."""
    # 削除 (withdraw) is for corrections: generated files withdraw nothing
    cols = ", ".join(f'{c.name} AS "{c.label}"' for c in KINDS[kind].columns if c.name != "withdraw")
    con.execute(f"COPY (SELECT {cols} FROM ({select_sql}) ORDER BY {order_by}) TO '{path.as_posix()}' "
                "(HEADER, DELIMITER ',')")


def _places(con, q: _Sql) -> int:
    """Tables pref(prefecture_code, prefecture, pop), muni(idx, …) and muni_slots(slot, idx); returns slot count."""
    con.execute(f"""CREATE TABLE pref AS SELECT * FROM read_csv('{(REFERENCE_DIR / 'prefectures.csv').as_posix()}',
        header=true, all_varchar=true)""")
    pops = ", ".join(f"('{i + 1:02d}', {p * PREF_BOOST.get(f'{i + 1:02d}', 1.0)})" for i, p in enumerate(PREF_POP))
    con.execute(f"CREATE TABLE pref_pop(prefecture_code VARCHAR, pop DOUBLE); INSERT INTO pref_pop VALUES {pops}")
    seirei = "[" + ", ".join(_lit(s) for s in SEIREI) + "]"
    con.execute(f"""
        CREATE TABLE muni AS
        WITH m AS (
            SELECT row_number() OVER (ORDER BY municipality_code) - 1 AS idx, m.*,
                   CASE WHEN list_contains({seirei}, m.municipality) THEN 30.0
                        WHEN m.lat = p.lat AND m.lng = p.lng THEN 15.0
                        WHEN m.prefecture = '東京都' AND m.municipality LIKE '%区' THEN 6.0
                        WHEN m.municipality LIKE '%市' THEN 3.0
                        WHEN m.municipality LIKE '%町' THEN 0.7
                        ELSE 0.2 END
                   -- heavy tail per municipality: 1 / (0.1 + u) in 0.9 .. 10
                   * (1.0 / (0.1 + {q.u('m.municipality_code', 'mfactor')})) AS w
            FROM read_csv('{(REFERENCE_DIR / 'municipalities.csv').as_posix()}', header=true, all_varchar=true) m
            JOIN pref p USING (prefecture_code)
        )
        SELECT m.idx, m.municipality_code, m.prefecture_code, m.prefecture, m.municipality,
               regexp_replace(m.municipality, '(市|町|村|区)$', '') AS stem,
               regexp_replace(m.prefecture, '(都|府|県)$', '') AS pref_stem,
               m.w / sum(m.w) OVER (PARTITION BY m.prefecture_code) * pp.pop AS weight,
               greatest(6, round(pp.pop / 40))::INTEGER AS itc_pool
        FROM m JOIN pref_pop pp USING (prefecture_code)
    """)
    con.execute(f"""
        CREATE TABLE muni_slots AS
        WITH s AS (SELECT idx, greatest(1, round(weight / sum(weight) OVER () * {SLOT_TOTAL}))::INTEGER AS n FROM muni),
             c AS (SELECT idx, n, sum(n) OVER (ORDER BY idx) - n AS first FROM s)
        SELECT (first + unnest(range(n)))::BIGINT AS slot, idx FROM c
    """)
    return con.execute("SELECT count(*) FROM muni_slots").fetchall()[0][0]


def _company_engagements(con, q: _Sql, n: int, slots: int, table: str) -> None:
    """伴走支援 engagements 0..n-1 and their candidate sessions (before the cut to exactly N)."""
    fy = q.pick(FISCAL_YEARS, FY_WEIGHTS, "i", "fy")
    month = q.pick(list(range(12)), (0.2, 0.6, 1.2, 1.6, 1.6, 1.4, 1.2, 0.9, 0.6, 0.3, 0.1, 0.05), "i", "month")
    word = q.pick(list(range(len(WORDS))), _zipf(len(WORDS), 0.8), "i", "word")
    con.execute(f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH b AS (
            SELECT range AS i, {fy} AS fy, {month} AS month_off, {word} AS word_idx,
                   {q.r('range', 'muni', slots)} AS slot
            FROM range({n})
        )
        SELECT b.i, b.fy, b.word_idx, m.idx AS muni_idx, m.prefecture_code, m.itc_pool,
               (make_date(b.fy, 4, 1) + (b.month_off * 30 + {q.r('b.i', 'day', 30)})::INTEGER) AS start_date,
               10 AS planned,
               {q.r('b.i', 'stall', 100)} < 7 AS stalled,
               2 + {q.r('b.i', 'stall_at', 7)} AS stall_at,
               45 + {q.r('b.i', 'stall_gap', 60)} AS stall_gap,
               {q.r('b.i', 'cancel', 100)} < 3 AS cancelled,
               2 + {q.r('b.i', 'cancel_at', 6)} AS cancel_at,
               {q.r('b.i', 'bank', 100)} < 55 AS has_bank,
               {q.r('b.i', 'lead', 1000)} AS lead_idx,
               {q.r('b.i', 'co', 1000)} AS co_idx
        FROM b JOIN muni_slots s USING (slot) JOIN muni m ON m.idx = s.idx
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE {table}_cand AS
        SELECT e.i, k, e.start_date,
               (e.start_date + ((k - 1) * 14 + CASE WHEN k = 1 THEN 0 ELSE {q.r('e.i * 16 + k', 'jit', 7)} - 3 END
                 + CASE WHEN e.stalled AND k > e.stall_at THEN e.stall_gap ELSE 0 END)::INTEGER) AS date
        FROM {table} e, range(1, 11) t(k)
        WHERE NOT e.cancelled OR k <= e.cancel_at
    """)
    con.execute(f"DELETE FROM {table}_cand WHERE date > DATE '{AS_OF}'")


def generate(out_dir: Path, sessions: int, seed: int = 1, threads: int | None = None) -> dict[str, int]:
    """Write the five record files into out_dir; returns rows written per kind."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_sessions = int(sessions)
    if n_sessions < 1:
        raise ValueError("sessions must be at least 1")
    q = _Sql(seed)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = true")
    slots = _places(con, q)

    # size the company engagements so that their sessions up to the as-of date just cover N (a first pass measures
    # the sessions per engagement), then cut to exactly N: only the latest-starting few lose sessions
    n_eng = max(2, math.ceil(n_sessions / 8.5))
    _company_engagements(con, q, n_eng, slots, "eng_b")
    have = con.execute("SELECT count(*) FROM eng_b_cand").fetchall()[0][0]
    n_eng = max(2, math.ceil(n_sessions * n_eng / max(have, 1) * 1.002) + 1)
    while True:
        _company_engagements(con, q, n_eng, slots, "eng_b")
        have = con.execute("SELECT count(*) FROM eng_b_cand").fetchall()[0][0]
        if have >= n_sessions:
            break
        n_eng = math.ceil(n_eng * 1.01) + 1
    con.execute(f"""
        CREATE TABLE sess AS
        SELECT * FROM (
            SELECT c.*, row_number() OVER (ORDER BY c.start_date, c.i, c.k) AS rn FROM eng_b_cand c
        ) WHERE rn <= {n_sessions}
    """)
    con.execute("""
        CREATE TABLE eng_b_done AS
        SELECT e.*, count(s.k) AS done, max(s.date) AS last_date
        FROM eng_b e LEFT JOIN sess s USING (i) GROUP BY ALL
    """)

    # engagements file: companies, then municipal support
    ind = "[" + ", ".join(_lit(w[1]) for w in WORDS) + "]"
    wrd = "[" + ", ".join(_lit(w[0]) for w in WORDS) + "]"
    roots = "[" + ", ".join(_lit(r) for r in ROOTS) + "]"
    banks = "[" + ", ".join(_lit(b) for b in BANK_SUFFIX) + "]"
    con.execute(f"""
        CREATE TABLE eng_out AS
        SELECT e.i AS ord,
               'B' || e.fy || '-' || e.prefecture_code || '-' || lpad(CAST(e.i AS VARCHAR), 7, '0') AS engagement_id,
               e.fy, e.prefecture_code, m.prefecture, e.itc_pool, e.lead_idx % e.itc_pool AS lead_no,
               e.co_idx % e.itc_pool AS co_no, e.has_bank, e.stalled, e.start_date, e.done, e.last_date,
               CASE WHEN e.done = 0 THEN '予定'
                    WHEN e.done >= e.planned THEN '完了'
                    WHEN e.cancelled AND e.done >= e.cancel_at THEN '中止'
                    ELSE '実施中' END AS status,
               '令和' || (e.fy - 2018) || '年度 地域DX促進活動支援事業' AS programme,
               m.prefecture || 'DX支援コミュニティ' AS consortium,
               '伴走支援' AS support_type,
               CASE WHEN {q.r('e.i', 'corp', 100)} < 80 THEN '株式会社' || m.stem || {roots}[1 + {q.r('e.i', 'root', len(ROOTS))}] || {wrd}[e.word_idx + 1]
                    WHEN {q.r('e.i', 'corp', 100)} < 92 THEN '有限会社' || {roots}[1 + {q.r('e.i', 'root', len(ROOTS))}] || {wrd}[e.word_idx + 1]
                    ELSE m.stem || {roots}[1 + {q.r('e.i', 'root', len(ROOTS))}] || {wrd}[e.word_idx + 1] || '株式会社'
               END || '（架空）' AS client_name,
               '企業' AS client_type,
               CASE WHEN {q.r('e.i', 'mcode', 100)} < 5 THEN m.municipality_code ELSE m.municipality END AS municipality,
               {ind}[e.word_idx + 1] AS industry,
               CASE WHEN e.has_bank THEN m.pref_stem || {banks}[1 + {q.r('e.i', 'bank_name', len(BANK_SUFFIX))}] || '（架空）' END AS bank,
               e.planned
        FROM eng_b_done e JOIN muni m ON m.idx = e.muni_idx
    """)
    n_muni_eng = max(7, round(n_eng * 0.04))
    stype = q.pick(MUNI_SUPPORT, _zipf(len(MUNI_SUPPORT), 0.7), "j", "stype")
    fy_m = q.pick(FISCAL_YEARS, FY_WEIGHTS, "j", "fy_m")
    con.execute(f"""
        CREATE TABLE eng_m AS
        WITH b AS (
            SELECT range AS j, {stype} AS support_type, {fy_m} AS fy, {q.r('range', 'muni_m', slots)} AS slot
            FROM range({n_muni_eng})
        ),
        d AS (
            SELECT b.*, m.idx AS muni_idx,
                   CASE WHEN b.support_type IN ('調達支援', '導入支援', '計画策定支援', '研修')
                        THEN make_date(b.fy, 4, 1) + ({q.r('b.j', 'mstart', 150)})::INTEGER
                        ELSE make_date(b.fy, 4, 1) END AS start_date
            FROM b JOIN muni_slots s USING (slot) JOIN muni m ON m.idx = s.idx
        )
        SELECT d.*,
               CASE WHEN d.support_type IN ('調達支援', '導入支援', '計画策定支援', '研修')
                    THEN least(make_date(d.fy + 1, 3, 31), d.start_date + (90 + {q.r('d.j', 'mlen', 150)})::INTEGER)
                    ELSE make_date(d.fy + 1, 3, 31) END AS planned_end
        FROM d
    """)
    con.execute(f"""
        INSERT INTO eng_out (ord, engagement_id, fy, prefecture_code, prefecture, itc_pool, lead_no, co_no,
            has_bank, stalled, start_date, done, last_date, status, programme, consortium, support_type,
            client_name, client_type, municipality, industry, bank, planned)
        SELECT {n_eng} + e.j, 'M' || e.fy || '-' || m.prefecture_code || '-' || lpad(CAST(e.j AS VARCHAR), 6, '0'),
               e.fy, m.prefecture_code, m.prefecture, m.itc_pool, {q.r('e.j', 'mlead', 1000)} % m.itc_pool, 0,
               false, false, e.start_date, 0,
               CASE WHEN e.planned_end <= DATE '{AS_OF}' THEN e.planned_end END,
               CASE WHEN e.start_date > DATE '{AS_OF}' THEN '予定'
                    WHEN e.planned_end <= DATE '{AS_OF}' THEN '完了' ELSE '実施中' END,
               '令和' || (e.fy - 2018) || '年度 ' || m.municipality || e.support_type,
               NULL, e.support_type, m.municipality, '自治体', m.municipality, '地方公共団体', NULL, NULL
        FROM eng_m e JOIN muni m ON m.idx = e.muni_idx
    """)
    fy_text = f"""CASE WHEN {q.r('ord', 'fytext', 100)} < 90 THEN CAST(fy AS VARCHAR)
                       WHEN {q.r('ord', 'fytext', 100)} < 95 THEN 'R' || (fy - 2018)
                       ELSE '令和' || (fy - 2018) || '年度' END"""
    deliverable_date = f"last_date + {q.r('ord', 'deliv', 15)}::INTEGER"
    _copy(con, f"""
        SELECT engagement_id, {fy_text} AS fiscal_year, programme, consortium, support_type, client_name,
               client_type, prefecture, municipality, industry, {_person('prefecture_code', 'lead_no', q.seed)} AS lead_coordinator,
               bank, {_date_text('start_date', 'ord', q, 'd_start')} AS start_date,
               {_date_text("CASE WHEN status IN ('完了', '中止') THEN last_date END", 'ord', q, 'd_end')} AS end_date,
               CASE WHEN planned IS NOT NULL AND {q.r('ord', 'planned_text', 100)} < 70 THEN CAST(planned AS VARCHAR) END
                   AS planned_sessions,
               status,
               CASE WHEN support_type = '伴走支援' AND status = '完了' THEN 'DX計画書'
                    WHEN support_type = '計画策定支援' AND status = '完了' THEN 'DX推進計画' END AS deliverable,
               {_date_text(f"CASE WHEN support_type = '伴走支援' AND status = '完了' THEN {deliverable_date} "
                           "WHEN support_type = '計画策定支援' AND status = '完了' THEN last_date END",
                           'ord', q, 'd_deliv')} AS deliverable_date
               , ord
        FROM eng_out""", "engagements", out_dir / FILE_NAMES["engagements"], "ord")

    # sessions file
    stages = "[" + ", ".join(_lit(s) for s in STAGES) + "]"
    variants = " ".join(f"WHEN st = {no} AND {q.r('rn', 'stvar', 100)} < 10 THEN {_lit(v)}"
                        for no, v in STAGE_VARIANTS.items())
    theme = lambda salt: q.pick(SESSION_THEMES, _zipf(len(SESSION_THEMES), 1.0), "rn", salt)  # noqa: E731
    duration = f"""CASE WHEN {q.r('rn', 'dur', 100)} < 60 THEN '120' WHEN {q.r('rn', 'dur', 100)} < 75 THEN '90'
                        WHEN {q.r('rn', 'dur', 100)} < 85 THEN '150' WHEN {q.r('rn', 'dur', 100)} < 93 THEN '2時間'
                        WHEN {q.r('rn', 'dur', 100)} < 97 THEN '1時間30分' ELSE '' END"""
    bank_mark = f"""CASE WHEN {q.r('rn', 'boolfmt', 100)} < 85
                         THEN CASE WHEN attended THEN '○' ELSE '×' END
                         ELSE CASE WHEN attended THEN '有' ELSE '無' END END"""
    notes = q.pick(NOTES, (8, 8, 2, 3, 1, 4, 4, 4, 10, 10), "rn", "notes")
    _copy(con, f"""
        WITH s AS (
            SELECT s.rn, s.k, s.date, e.engagement_id, e.prefecture_code, e.lead_no, e.co_no, e.itc_pool,
                   e.has_bank AND {q.r('s.rn', 'attend', 100)} < 55 AS attended,
                   least(7, 1 + floor((s.k - 1) * 7 / 10))::INTEGER AS st
            FROM sess s JOIN eng_out e ON e.ord = s.i
        )
        SELECT engagement_id, CAST(k AS VARCHAR) AS session_no, {_date_text('date', 'rn', q, 'd_sess')} AS date,
               {duration} AS duration_min,
               CASE {variants} ELSE {stages}[st] END AS stage,
               {_person('prefecture_code', 'lead_no', q.seed)}
                 || CASE WHEN {q.r('rn', 'co', 100)} < 30 AND co_no <> lead_no
                         THEN '、' || {_person('prefecture_code', 'co_no', q.seed)} ELSE '' END AS coordinators,
               {bank_mark} AS bank_attended,
               CAST(2 + {q.r('rn', 'att', 5)} AS VARCHAR) AS attendees,
               {theme('t1')} || CASE WHEN {q.r('rn', 't2n', 100)} < 50 THEN '、' || {theme('t2')} ELSE '' END
                 || CASE WHEN {q.r('rn', 't3n', 100)} < 15 THEN '、' || {theme('t3')} ELSE '' END AS themes,
               nullif({notes}, '') AS notes, rn
        FROM s""", "sessions", out_dir / FILE_NAMES["sessions"], "rn")

    # consultations: N rows, ~30 % linked to a municipal engagement (its place and period)
    n_cons = n_sessions
    fy_c = q.pick(FISCAL_YEARS, FY_WEIGHTS, "c", "fy_c")
    channel = q.pick(CHANNELS, (4, 3, 2, 1.5, 1), "c", "channel")
    con.execute(f"""
        CREATE TABLE cons AS
        WITH b AS (
            SELECT range AS c, {fy_c} AS fy, {channel} AS channel,
                   CASE WHEN {q.r('range', 'link', 100)} < 30 THEN {q.r('range', 'link_to', n_muni_eng)} END AS link,
                   {q.r('range', 'muni_c', slots)} AS slot
            FROM range({n_cons})
        ),
        p AS (
            SELECT b.*, coalesce(em.muni_idx, s.idx) AS muni_idx,
                   CASE WHEN em.j IS NOT NULL THEN em.start_date ELSE make_date(b.fy, 4, 1) END AS lo,
                   least(DATE '{AS_OF}', CASE WHEN em.j IS NOT NULL THEN em.planned_end ELSE make_date(b.fy + 1, 3, 31) END) AS hi,
                   CASE WHEN em.j IS NOT NULL THEN 'M' || em.fy || '-' END AS link_prefix, em.j
            FROM b JOIN muni_slots s USING (slot) LEFT JOIN eng_m em ON em.j = b.link
        ),
        d AS (
            SELECT p.*, p.lo + ({q.r('p.c', 'cday', 100000)} % greatest(1, p.hi - p.lo + 1))::INTEGER AS d0 FROM p
        )
        SELECT d.*, d.d0 - CASE dayofweek(d.d0) WHEN 6 THEN 1 WHEN 0 THEN 2 ELSE 0 END AS date FROM d
    """)
    ctheme = q.pick(CONSULT_THEMES, _zipf(len(CONSULT_THEMES), 1.0), "c.c", "ctheme")
    _copy(con, f"""
        SELECT 'C' || lpad(CAST(c.c AS VARCHAR), 8, '0') AS consultation_id,
               {_date_text('c.date', 'c.c', q, 'd_cons')} AS date,
               m.municipality AS client_name, m.prefecture,
               CASE WHEN {q.r('c.c', 'cmcode', 100)} < 10 THEN m.municipality_code ELSE m.municipality END AS municipality,
               {q.pick(DEPARTMENTS, _zipf(len(DEPARTMENTS), 0.9), 'c.c', 'dept')} AS department,
               CASE WHEN c.channel = '相談会' THEN {q.pick(SLOTS, [1] * len(SLOTS), 'c.c', 'slot')} END AS slot,
               {ctheme} AS theme,
               c.channel,
               CASE WHEN c.channel = '相談会' THEN (CASE WHEN {q.r('c.c', 'cdur', 2)} = 0 THEN '50' ELSE '60' END)
                    WHEN {q.r('c.c', 'cdur', 100)} < 90 THEN CAST(30 * (1 + {q.r('c.c', 'cdur2', 4)}) AS VARCHAR)
                    ELSE '1時間' END AS duration_min,
               {_person('m.prefecture_code', q.r('c.c', 'cco', 1000) + ' % m.itc_pool', q.seed)} AS coordinator,
               CASE WHEN c.link_prefix IS NOT NULL
                    THEN c.link_prefix || m.prefecture_code || '-' || lpad(CAST(c.j AS VARCHAR), 6, '0') END AS engagement_id,
               nullif({ctheme} || {q.pick(SUMMARIES, (3, 3, 2, 1, 2), 'c.c', 'summ')}, {ctheme}) AS summary, c.c AS ord
        FROM cons c JOIN muni m ON m.idx = c.muni_idx""", "consultations",
          out_dir / FILE_NAMES["consultations"], "ord")

    # events
    n_events = max(50, n_sessions // 50)
    ekind = q.pick(EVENT_KINDS, (3, 2, 2, 1.5, 1.5, 0.5, 0.05), "range", "ekind")
    fy_e = q.pick(FISCAL_YEARS, FY_WEIGHTS, "range", "fy_e")
    con.execute(f"""
        CREATE TABLE ev AS
        WITH b AS (SELECT range AS e, {ekind} AS kind, {fy_e} AS fy, {q.r('range', 'muni_e', slots)} AS slot
                   FROM range({n_events}))
        SELECT b.*, m.idx AS muni_idx, m.prefecture, m.municipality,
               least(DATE '{AS_OF}', make_date(b.fy, 4, 1) + (CASE b.kind
                    WHEN 'DX気づきセミナー' THEN 45 WHEN 'DXセミナー1' THEN 90 WHEN 'DXセミナー2' THEN 130
                    WHEN '基礎研修' THEN 40 ELSE 0 END + {q.r('b.e', 'eday', 60)}
                    + CASE WHEN b.kind IN ('相談会', '職員研修', 'その他') THEN {q.r('b.e', 'eday2', 300)} ELSE 0 END)::INTEGER) AS date,
               CASE WHEN b.kind = '基礎研修' THEN 60 + {q.r('b.e', 'eatt', 70)}
                    WHEN b.kind IN ('相談会') THEN 3 + {q.r('b.e', 'eatt', 8)}
                    ELSE 12 + {q.r('b.e', 'eatt', 40)} + CASE WHEN {q.r('b.e', 'ebig', 100)} < 10 THEN {q.r('b.e', 'eatt2', 80)} ELSE 0 END
               END AS attendees
        FROM b JOIN muni_slots s USING (slot) JOIN muni m ON m.idx = s.idx
    """)
    _copy(con, f"""
        SELECT 'EV' || lpad(CAST(e AS VARCHAR), 7, '0') AS event_id,
               '令和' || (fy - 2018) || '年度 ' ||
               CASE WHEN kind IN ('DX気づきセミナー', 'DXセミナー1', 'DXセミナー2') THEN prefecture || ' ' || kind
                    WHEN kind = '基礎研修' THEN '自治体ビジネス基礎研修'
                    WHEN kind = '職員研修' THEN municipality || ' 職員DX研修'
                    WHEN kind = '相談会' THEN municipality || ' システム相談会'
                    ELSE prefecture || ' DX事例交流会' END AS name,
               kind, {_date_text('date', 'e', q, 'd_ev')} AS date,
               CASE WHEN kind IN ('DX気づきセミナー', 'DXセミナー1', 'DXセミナー2', 'その他')
                    THEN prefecture || 'DX支援コミュニティ' END AS consortium,
               CASE WHEN kind = '基礎研修' THEN '東京都' ELSE prefecture END AS prefecture,
               CASE WHEN kind IN ('職員研修', '相談会') THEN municipality END AS municipality,
               CAST(attendees AS VARCHAR) AS attendees,
               CASE WHEN kind IN ('DX気づきセミナー', 'DXセミナー1', 'DXセミナー2', 'その他')
                    THEN CAST(greatest(1, attendees * 6 // 10) AS VARCHAR) END AS companies,
               CAST(attendees + {q.r('e', 'eapp', 12)} AS VARCHAR) AS applicants, e
        FROM ev""", "events", out_dir / FILE_NAMES["events"], "e")

    # targets: per fiscal year × consortium, scaled to what was generated (some met, some not)
    con.execute("""
        CREATE TABLE actual AS
        WITH p AS (SELECT prefecture || 'DX支援コミュニティ' AS consortium, prefecture_code FROM pref),
             fy AS (SELECT unnest([2022, 2023, 2024, 2025]) AS fy),
             comp AS (SELECT fy, consortium, count(*) AS companies FROM eng_out WHERE support_type = '伴走支援'
                      GROUP BY ALL),
             sem AS (SELECT CASE WHEN month(date) < 4 THEN year(date) - 1 ELSE year(date) END AS fy,
                            prefecture || 'DX支援コミュニティ' AS consortium, sum(attendees) AS attendees
                     FROM ev WHERE kind IN ('DX気づきセミナー', 'DXセミナー1', 'DXセミナー2') GROUP BY ALL)
        SELECT fy.fy, p.consortium, p.prefecture_code, coalesce(comp.companies, 0) AS companies,
               coalesce(sem.attendees, 0) AS attendees
        FROM p CROSS JOIN fy LEFT JOIN comp USING (fy, consortium) LEFT JOIN sem USING (fy, consortium)
    """)
    factor = f"(0.85 + {q.r('hash(fy, consortium, indicator)', 'tf', 40)} / 100.0)"
    _copy(con, f"""
        WITH t AS (
            SELECT fy, consortium, indicator,
                   CASE indicator WHEN '支援企業数' THEN companies WHEN '伴走回数' THEN companies * 10
                                  WHEN 'DX計画書策定数' THEN companies * 8 // 10
                                  WHEN 'セミナー参加者数' THEN attendees ELSE 50 END AS base, ord
            FROM actual, (VALUES ('支援企業数', 1), ('伴走回数', 2), ('DX計画書策定数', 3), ('セミナー参加者数', 4),
                                 ('金融機関同行率', 5)) v(indicator, ord)
        ),
        national AS (
            SELECT fy, NULL AS consortium, '相談件数' AS indicator,
                   (SELECT count(*) FROM cons c WHERE c.fy = f.fy) AS base, 6 AS ord
            FROM (SELECT unnest([2022, 2023, 2024, 2025]) AS fy) f
            UNION ALL
            SELECT fy, NULL, '支援自治体数', (SELECT count(DISTINCT muni_idx) FROM eng_m m WHERE m.fy = f.fy), 7
            FROM (SELECT unnest([2022, 2023, 2024, 2025]) AS fy) f
        )
        SELECT CAST(fy AS VARCHAR) AS fiscal_year, consortium, indicator,
               CAST(CASE WHEN indicator = '金融機関同行率' THEN 50
                         ELSE greatest(1, round(base * {factor})) END AS BIGINT) AS target, fy, ord
        FROM (SELECT * FROM t UNION ALL SELECT * FROM national)""", "targets", out_dir / FILE_NAMES["targets"],
          "fy, consortium NULLS LAST, ord")

    counts = {}
    for kind, name in FILE_NAMES.items():
        counts[kind] = con.execute("SELECT count(*) FROM read_csv(?, header=true, all_varchar=true)",
                                   [str(out_dir / name)]).fetchall()[0][0]
    con.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.generate",
                                     description="全国規模の合成記録ファイル（架空）を書き出す")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--sessions", type=int, required=True, help="伴走記録の行数（支援案件 ≈ 1/9、相談記録 ≈ 同数）")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.monotonic()
    counts = generate(args.out_dir, args.sessions, args.seed)
    for kind, n in counts.items():
        print(f"{args.out_dir / FILE_NAMES[kind]}: {KINDS[kind].label} {n:,} 行")
    print(f"{time.monotonic() - start:.1f} 秒")
    return 0


if __name__ == "__main__":
    sys.exit(main())
