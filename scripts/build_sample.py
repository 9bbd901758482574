#!/usr/bin/env python3
"""Build the embedded sample programme (令和4〜6年度) into ``data/sample/``.

The sample is written in the same formats users upload (CP932 / UTF-8-BOM CSV,
one .xlsx workbook with a title line) so that it goes through the real load path.

* Deterministic: every random choice comes from ``random.Random`` seeded with a
  fixed string; nothing depends on today's date; the .xlsx gets fixed workbook
  properties and fixed zip entry timestamps.  Two runs give byte-identical files.
* Companies and people are fictional and marked ``（架空）``.  Consortia, member
  banks, municipalities and the programme structure follow the programme facts
  (see /work/shared/PRODUCT.md).
* The sample's last record date is ``LAST_DATE`` (2025-02-28); nothing is dated later.

Usage::

    .venv/bin/python scripts/build_sample.py            # writes data/sample/
    .venv/bin/python scripts/build_sample.py --out DIR  # writes elsewhere (tests)
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "data" / "sample"
TARGETS_CSV = ROOT / "data" / "reference" / "targets.csv"

SEED = "chiiki-dx-sample-v1"
LAST_DATE = dt.date(2025, 2, 28)
FISCAL_YEARS = (2022, 2023, 2024)
WORKBOOK_TIMESTAMP = dt.datetime(2025, 3, 1, 0, 0, 0)

ENGAGEMENTS_FILE = "支援案件.csv"
SESSIONS_FILE = "伴走記録.csv"
CONSULTATIONS_FILE = "相談記録.csv"
WORKBOOK_FILE = "セミナー・目標値.xlsx"

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

# the seven 伴走支援 stages, in order, from their one source (the file the `stages` table is loaded from)
with open(ROOT / "data" / "reference" / "stages.csv", encoding="utf-8", newline="") as _f:
    STAGES = [r["stage"] for r in sorted(csv.DictReader(_f), key=lambda r: int(r["stage_no"]))]
# Alternative spellings a data steward might type; each is close to one stage.
STAGE_VARIANTS = {
    "現状分析": "現状分析・課題整理",
    "DX構想の検討": "DX構想検討",
    "DX計画書のとりまとめ": "DX計画書とりまとめ",
}

COMPANY_THEMES = [
    "経営ビジョン・DX戦略", "業務効率化", "情報共有", "販路拡大・EC", "生産・在庫管理", "データ活用",
    "セキュリティ", "DX認定",
]
# Free-text phrases per company theme (what a coordinator writes in テーマ).
THEME_PHRASES = {
    "経営ビジョン・DX戦略": ["経営ビジョンの言語化", "DX戦略の方向性", "中期経営計画とDXの関係整理"],
    "業務効率化": ["受発注業務の効率化", "紙の帳票の削減", "二重入力の解消"],
    "情報共有": ["社内の情報共有方法", "グループウェアの活用", "図面・仕様書の情報共有"],
    "販路拡大・EC": ["ECサイトによる販路拡大", "Web受注による販路拡大", "SNSでの情報発信"],
    "生産・在庫管理": ["在庫管理の課題", "生産計画の見える化", "工程管理の改善"],
    "データ活用": ["売上データ分析", "顧客データの活用", "原価の見える化"],
    "セキュリティ": ["ウイルス対策・パスワード管理", "SECURITY ACTIONの宣言", "バックアップ体制の確認"],
    "DX認定": ["DX認定の申請準備", "DX認定制度の要件確認"],
}
STAGE_PHRASES = {
    "経営理念・ミッションの確認": ["経営理念・ミッションの確認", "経営者の想いのヒアリング"],
    "DX構想の検討": ["DX構想の検討", "ありたい姿の整理"],
    "DXシステム構成検討": ["システム構成の検討", "クラウドサービスの比較"],
    "現状分析": ["現状の業務フロー整理", "現行システムの一覧化"],
    "実施項目の抽出": ["実施項目の洗い出し", "優先順位付け"],
    "セキュリティ対策の検討": ["セキュリティ対策の検討", "情報資産の洗い出し"],
    "DX計画書のとりまとめ": ["DX計画書の構成確認", "DX計画書の最終確認"],
}

MUNICIPAL_THEMES = [
    "自治体フロントヤード改革", "情報システムの標準化・共通化", "公金収納におけるeLTAXの活用",
    "マイナンバーカードの普及促進・利用の推進", "セキュリティ対策の徹底", "AI・RPAの利用推進",
    "テレワークの推進", "推進体制", "行政手続のオンライン化", "調達支援", "導入支援",
]
MUNICIPAL_THEME_TEXT = {
    "自治体フロントヤード改革": ["書かない窓口の検討", "窓口のワンストップ化（フロントヤード改革）"],
    "情報システムの標準化・共通化": ["基幹業務システムの標準化移行スケジュール", "ガバメントクラウド移行の費用確認"],
    "公金収納におけるeLTAXの活用": ["eLTAXによる公金収納の対象拡大", "地方税統一QRコードの活用"],
    "マイナンバーカードの普及促進・利用の推進": ["マイナンバーカードの利活用（コンビニ交付）", "マイナンバーカード出張申請の運営"],
    "セキュリティ対策の徹底": ["情報セキュリティポリシーの見直し", "インシデント対応訓練の実施方法"],
    "AI・RPAの利用推進": ["RPAの対象業務の選定", "生成AIの庁内利用ガイドライン"],
    "テレワークの推進": ["テレワーク環境の整備", "リモートワーク用のVPN方式"],
    "推進体制": ["DX推進体制（組織体制）の見直し", "デジタル人材の確保・育成"],
    "行政手続のオンライン化": ["電子申請の対象手続拡大", "オンライン申請の様式見直し"],
    "調達支援": ["ネットワーク更改の仕様書確認（調達支援）", "調達仕様書のレビュー"],
    "導入支援": ["文書管理システムの導入支援", "電子決裁システムの導入スケジュール確認"],
}

CONSORTIA = {
    "IB": {
        "name": "茨城県DX支援コミュニティ",
        "prefecture": "茨城県",
        "bank": "常陽銀行",
        "municipalities": ["水戸市", "日立市", "つくば市", "筑西市", "土浦市", "古河市", "ひたちなか市",
                           "笠間市", "石岡市", "結城市", "常総市", "鹿嶋市", "守谷市", "那珂市"],
        "itc": ["佐藤 一郎（架空）", "鈴木 花子（架空）", "高橋 誠（架空）", "田中 美咲（架空）",
                "伊藤 健太（架空）"],
        "seminar_towns": ["水戸市", "つくば市", "水戸市"],
    },
    "NG": {
        "name": "長野県DX支援コミュニティ",
        "prefecture": "長野県",
        "bank": "八十二銀行",
        "municipalities": ["長野市", "松本市", "上田市", "飯田市", "諏訪市", "伊那市", "佐久市", "安曇野市",
                           "岡谷市", "茅野市", "塩尻市", "千曲市", "駒ヶ根市"],
        "itc": ["小林 修（架空）", "中村 由紀（架空）", "山口 大輔（架空）", "松本 恵（架空）",
                "井上 拓也（架空）"],
        "seminar_towns": ["長野市", "松本市", "長野市"],
    },
}

# (name stem, industry, name pattern) pools; combined they give unique fictional names.
COMPANY_STEMS = [
    "あおば", "みどり", "さくら", "ひかり", "つくし", "かすみ", "はやて", "やまびこ", "しらかば", "こまくさ",
    "あずさ", "ちくま", "すずらん", "あさひ", "りんどう", "いなほ", "なのはな", "ときわ", "みずほ", "こはく",
    "わかば", "せせらぎ", "たかね", "かざはな", "ふたば", "はなみずき", "あかね", "こだま", "いずみ", "しおさい",
    "つばさ", "ほたる", "もみじ", "かがやき", "ゆうひ", "しずく", "おおぞら", "ひばり", "あけぼの", "かもめ",
    "まつかぜ", "いぶき", "なぎさ", "やよい", "こもれび", "ひだまり", "すばる", "たちばな", "ゆきわり", "あやめ",
    "きらら", "かなで", "のぞみ", "ゆずりは", "さざなみ", "はるか", "あまね", "くすのき", "ふじなみ", "みのり",
]
COMPANY_KINDS = [
    ("製作所", "製造業"), ("精機", "製造業"), ("精工", "製造業"), ("電子", "製造業"), ("食品", "食料品製造業"),
    ("酒造", "食料品製造業"), ("建設", "建設業"), ("工務店", "建設業"), ("運輸", "運輸業・郵便業"),
    ("商事", "卸売業・小売業"), ("商店", "卸売業・小売業"), ("印刷", "製造業"), ("設備工業", "建設業"),
    ("農園", "農業"), ("観光ホテル", "宿泊業・飲食サービス業"), ("ソフトウェア", "情報通信業"),
    ("介護サービス", "医療・福祉"), ("物流", "運輸業・郵便業"),
]

MUNI_ITC = {
    "山形市": ["渡辺 隆（架空）", "清水 久美子（架空）"],
    "ふじみ野市": ["森 正樹（架空）"],
    "岐阜市": ["池田 聡（架空）", "石井 真理（架空）"],
    "摂津市": ["山本 直子（架空）"],
}
MUNI_PREF = {"山形市": "山形県", "ふじみ野市": "埼玉県", "岐阜市": "岐阜県", "摂津市": "大阪府"}
MUNI_PREFIX = {"山形市": "YM", "ふじみ野市": "FJ", "岐阜市": "GF", "摂津市": "ST"}
DEPARTMENTS = [
    "情報政策課", "DX推進課", "市民課", "税務課", "総務課", "人事課", "子育て支援課", "健康福祉課", "会計課",
    "企画調整課", "財政課", "契約検査課", "保険年金課", "環境課",
]


# --------------------------------------------------------------------------- helpers

def rng_for(*parts: object) -> random.Random:
    """An independent, reproducible generator per section (string seeds are stable across runs)."""
    return random.Random("-".join([SEED, *map(str, parts)]))


def reiwa(year: int) -> int:
    return year - 2018


def fy_of(d: dt.date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def fy_start(fy: int) -> dt.date:
    return dt.date(fy, 4, 1)


def fy_end(fy: int) -> dt.date:
    return min(dt.date(fy + 1, 3, 31), LAST_DATE)


def weekday_forward(d: dt.date) -> dt.date:
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def weekday_backward(d: dt.date) -> dt.date:
    while d.weekday() >= 5:
        d -= dt.timedelta(days=1)
    return d


def rand_date(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


def fmt_date(d: dt.date | None, rng: random.Random, p_variant: float = 0.15) -> str:
    """Mostly ISO; a minority in the other accepted spellings."""
    if d is None:
        return ""
    if rng.random() >= p_variant:
        return d.isoformat()
    style = rng.choice(["slash", "reiwa_kanji", "reiwa_dot"])
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "reiwa_kanji":
        return f"令和{reiwa(d.year)}年{d.month}月{d.day}日"
    return f"R{reiwa(d.year)}.{d.month}.{d.day}"


def fmt_fy(fy: int, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.08:
        return f"R{reiwa(fy)}"
    if r < 0.16:
        return f"令和{reiwa(fy)}年度"
    return str(fy)


def fmt_duration(minutes: int, rng: random.Random) -> str:
    if rng.random() < 0.8:
        return str(minutes)
    h, m = divmod(minutes, 60)
    if h == 0:  # "50分" is not one of the documented spellings; keep plain minutes
        return str(minutes)
    return f"{h}時間" if m == 0 else f"{h}時間{m}分"


def fmt_bool(value: bool, style: str) -> str:
    if style == "有無":
        return "有" if value else "無"
    return "○" if value else "×"


def programme_name(fy: int) -> str:
    return f"令和{reiwa(fy)}年度 地域DX促進活動支援事業"


def csv_text(headers: list[str], rows: list[list[object]]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


# --------------------------------------------------------------------------- companies

def company_names() -> list[tuple[str, str]]:
    """A shuffled, reproducible list of unique (fictional company name, industry)."""
    rng = rng_for("companies")
    combos = [(s, k) for s in COMPANY_STEMS for k in COMPANY_KINDS]
    rng.shuffle(combos)
    out, used_stems = [], []
    for stem, (suffix, industry) in combos:
        if stem in used_stems:
            continue
        used_stems.append(stem)
        pattern = rng.random()
        if suffix in ("商店", "工務店", "農園") and pattern < 0.5:
            name = f"有限会社{stem}{suffix}（架空）"
        elif pattern < 0.6:
            name = f"株式会社{stem}{suffix}（架空）"
        else:
            name = f"{stem}{suffix}株式会社（架空）"
        out.append((name, industry))
    return out


def stage_plan(rng: random.Random, n: int = 10) -> list[str]:
    """n sessions over the seven stages, every stage at least once, in order."""
    extra = [rng.randrange(len(STAGES)) for _ in range(n - len(STAGES))]
    idx = sorted(list(range(len(STAGES))) + extra)
    return [STAGES[i] for i in idx]


def forward_schedule(rng: random.Random, start: dt.date, n: int) -> list[dt.date]:
    dates = [weekday_forward(start)]
    while len(dates) < n:
        gap = rng.choice([13, 14, 14, 14, 15, 16]) + (7 if rng.random() < 0.1 else 0)
        dates.append(weekday_forward(dates[-1] + dt.timedelta(days=gap)))
    return dates


def backward_schedule(rng: random.Random, last: dt.date, n: int) -> list[dt.date]:
    dates = [weekday_backward(last)]
    while len(dates) < n:
        gap = rng.choice([13, 14, 14, 15, 16])
        dates.append(weekday_backward(dates[-1] - dt.timedelta(days=gap)))
    return sorted(dates)


def session_theme(rng: random.Random, stage: str, company_themes: list[str]) -> str:
    stage_text = rng.choice(STAGE_PHRASES[stage])
    if stage == "セキュリティ対策の検討":
        theme = "セキュリティ"
    elif stage == "経営理念・ミッションの確認":
        theme = "経営ビジョン・DX戦略"
    else:
        theme = rng.choice(company_themes)
    r = rng.random()
    if r < 0.15:  # the taxonomy name itself
        return f"{stage_text}、{theme}"
    return f"{stage_text}、{rng.choice(THEME_PHRASES[theme])}"


def session_note(rng: random.Random, stage: str, bank_attended: bool, bank: str) -> str:
    r = rng.random()
    if r < 0.12:
        return ""
    if r < 0.22:
        return "社長より「まずは在庫の見える化から始めたい」との発言あり。\n次回までに現行の帳票を収集していただく。"
    if r < 0.30:
        return "Excel台帳,紙の日報,FAXの3系統で受注情報を管理している。"
    if r < 0.37:
        return 'キーワードは"見える化"と"脱FAX"。社員にも共有する。'
    if r < 0.45:
        return "宿題：\n・現行システムの一覧\n・年間の保守費用"
    if bank_attended and r < 0.60:
        return f"{bank}の担当者から、IT導入補助金など活用できる支援制度の紹介があった。"
    texts = {
        "経営理念・ミッションの確認": "社長、専務、総務課長が参加。経営理念と今後10年の方向性を確認した。",
        "DX構想の検討": "ありたい姿を議論。顧客との接点をデジタル化する案が有力。",
        "DXシステム構成検討": "クラウド型の販売管理システムを中心とした構成案を提示した。",
        "現状分析": "受注から出荷までの業務フローを作成し、課題を10項目に整理した。",
        "実施項目の抽出": "実施項目を短期、中期に分けて優先順位を付けた。",
        "セキュリティ対策の検討": "SECURITY ACTION二つ星の宣言に向けて、自社診断を実施した。",
        "DX計画書のとりまとめ": "DX計画書の案を読み合わせ、指摘事項を反映した。",
    }
    return texts[stage]


# --------------------------------------------------------------------------- engagements + sessions

def build_company_engagements() -> tuple[list[list[object]], list[list[object]]]:
    names = company_names()
    name_iter = iter(names)
    engagements: list[list[object]] = []
    sessions: list[list[object]] = []

    # Per consortium and fiscal year: the list of engagement outcomes.
    plans = {
        ("IB", 2022): ["完了"] * 8,
        ("NG", 2022): ["完了"] * 8,
        ("IB", 2023): ["完了"] * 9,
        ("NG", 2023): ["完了"] * 9,
        ("IB", 2024): ["完了"] * 4 + ["実施中"] * 3 + ["停滞"] + ["中止"] + ["予定"],
        ("NG", 2024): ["完了"] * 5 + ["実施中"] * 3 + ["停滞"] * 2,
    }
    start_windows = {
        2022: (dt.date(2022, 9, 1), dt.date(2022, 10, 14)),
        2023: (dt.date(2023, 8, 1), dt.date(2023, 9, 15)),
        2024: (dt.date(2024, 7, 22), dt.date(2024, 8, 20)),
    }

    for fy in FISCAL_YEARS:
        for code, cons in CONSORTIA.items():
            for i, outcome in enumerate(plans[(code, fy)], start=1):
                eid = f"{code}-{fy}-{i:02d}"
                rng = rng_for("engagement", eid)
                name, industry = next(name_iter)
                muni = rng.choice(cons["municipalities"])
                lead = rng.choice(cons["itc"])
                has_bank = rng.random() < 0.8
                bank = cons["bank"] if has_bank else ""
                themes = rng.sample(COMPANY_THEMES[1:], 2) + (["DX認定"] if rng.random() < 0.3 else [])
                plan = stage_plan(rng)

                if outcome == "完了":
                    dates = forward_schedule(rng, rand_date(rng, *start_windows[fy]), 10)
                elif outcome == "実施中":
                    last = rand_date(rng, dt.date(2025, 2, 5), dt.date(2025, 2, 27))
                    dates = backward_schedule(rng, last, rng.randint(5, 8))
                elif outcome == "停滞":
                    last = rand_date(rng, dt.date(2024, 11, 18), dt.date(2024, 12, 20))
                    dates = backward_schedule(rng, last, rng.randint(4, 6))
                elif outcome == "中止":
                    dates = forward_schedule(rng, rand_date(rng, dt.date(2024, 9, 2), dt.date(2024, 9, 13)), 3)
                else:  # 予定: selected, no session yet
                    dates = []
                assert all(d <= LAST_DATE for d in dates), eid

                status = "実施中" if outcome == "停滞" else outcome
                start = dates[0] if dates else None
                end = None
                deliverable, deliverable_date = "", None
                if outcome == "完了":
                    end = dates[-1]
                    deliverable = "DX計画書"
                    deliverable_date = min(dates[-1] + dt.timedelta(days=rng.randint(3, 14)), fy_end(fy))
                elif outcome == "中止":
                    end = dates[-1] + dt.timedelta(days=21)

                engagements.append([
                    eid, fmt_fy(fy, rng), programme_name(fy), cons["name"], "伴走支援", name, "企業",
                    cons["prefecture"], muni, industry, lead, bank, fmt_date(start, rng), fmt_date(end, rng),
                    10, status, deliverable, fmt_date(deliverable_date, rng),
                ])

                bool_style = "有無" if rng.random() < 0.25 else "○×"
                others = [p for p in cons["itc"] if p != lead]
                for no, d in enumerate(dates, start=1):
                    stage = plan[no - 1]
                    stage_text = STAGE_VARIANTS.get(stage, stage) if rng.random() < 0.12 else stage
                    coordinators = lead if rng.random() < 0.75 else f"{lead}、{rng.choice(others)}"
                    attended = has_bank and (no in (1, len(dates)) or rng.random() < 0.45)
                    minutes = rng.choice([120, 120, 120, 120, 90, 150])
                    note = session_note(rng, stage, attended, bank)
                    if outcome == "停滞" and no == len(dates):
                        note = "先方の繁忙期のため、次回日程は改めて調整することとなった。"
                    if outcome == "中止" and no == len(dates):
                        note = "先方より、事業方針の見直しのため支援を一旦中止したいとの申し出があった。"
                    sessions.append([
                        eid, no, fmt_date(d, rng), fmt_duration(minutes, rng), stage_text, coordinators,
                        fmt_bool(attended, bool_style), rng.randint(1, 4), session_theme(rng, stage, themes),
                        note,
                    ])
    return engagements, sessions


def build_municipal_engagements() -> list[list[object]]:
    rows: list[list[object]] = []

    def add(eid, fy, programme, support_type, muni, lead, start, end, status, deliverable="", ddate=None):
        rng = rng_for("engagement", eid)
        rows.append([
            eid, fmt_fy(fy, rng), programme, "", support_type, muni, "自治体", MUNI_PREF[muni], muni,
            "地方公共団体", lead, "", fmt_date(start, rng), fmt_date(end, rng), "", status, deliverable,
            fmt_date(ddate, rng),
        ])

    for fy in FISCAL_YEARS:
        r = reiwa(fy)
        current = fy == 2024
        year_end = None if current else dt.date(fy + 1, 3, 31)
        status = "実施中" if current else "完了"
        # 山形市: ITCアドバイザー 業務委託 plus a few 調達支援 / 導入支援 engagements.
        add(f"YM-{fy}-01", fy, f"令和{r}年度 山形市ITCアドバイザー業務委託", "ITCアドバイザー", "山形市",
            MUNI_ITC["山形市"][0], dt.date(fy, 4, 1), year_end, status)
        add(f"YM-{fy}-02", fy, f"令和{r}年度 山形市ITCアドバイザー業務委託", "調達支援", "山形市",
            MUNI_ITC["山形市"][1], dt.date(fy, 6, 1), dt.date(fy, 11, 30), "完了", "調達仕様書（案）",
            dt.date(fy, 11, 30))
        add(f"YM-{fy}-03", fy, f"令和{r}年度 山形市ITCアドバイザー業務委託", "導入支援", "山形市",
            MUNI_ITC["山形市"][0], dt.date(fy, 9, 1), dt.date(fy + 1, 1, 31), "完了", "導入計画書",
            dt.date(fy + 1, 1, 31))
        # ふじみ野市 / 岐阜市: CIO補佐官 (非常勤特別職).
        add(f"FJ-{fy}-01", fy, f"令和{r}年度 ふじみ野市CIO補佐官", "CIO補佐官", "ふじみ野市",
            MUNI_ITC["ふじみ野市"][0], dt.date(fy, 4, 1), year_end, status)
        add(f"GF-{fy}-01", fy, f"令和{r}年度 岐阜市CIO補佐官", "CIO補佐官", "岐阜市",
            MUNI_ITC["岐阜市"][0], dt.date(fy, 4, 1), year_end, status)
        add(f"GF-{fy}-02", fy, f"令和{r}年度 岐阜市リスキリングアカデミー", "研修", "岐阜市",
            MUNI_ITC["岐阜市"][1], dt.date(fy, 6, 1), None if current else dt.date(fy + 1, 2, 28), status)
    # 摂津市: DX推進計画 drafting, then its revision.
    add("ST-2022-01", 2022, "令和4年度 摂津市DX推進計画策定支援", "計画策定支援", "摂津市",
        MUNI_ITC["摂津市"][0], dt.date(2022, 6, 1), dt.date(2023, 3, 24), "完了", "DX推進計画書",
        dt.date(2023, 3, 24))
    add("ST-2024-01", 2024, "令和6年度 摂津市DX推進計画改定支援", "計画策定支援", "摂津市",
        MUNI_ITC["摂津市"][0], dt.date(2024, 7, 1), None, "実施中")
    return rows


# --------------------------------------------------------------------------- consultations

def build_consultations() -> list[list[object]]:
    records: list[dict] = []

    def theme_text(rng: random.Random, theme: str) -> str:
        return rng.choice(MUNICIPAL_THEME_TEXT[theme]) if rng.random() < 0.3 else theme

    for fy in FISCAL_YEARS:
        lo, hi = fy_start(fy), fy_end(fy)
        rng = rng_for("consultations", fy)

        # 山形市: about 30 導入支援 and 30 調達支援 a year (visits, online, mail).
        for theme in ("導入支援", "調達支援"):
            for _ in range(30):
                d = weekday_forward(rand_date(rng, lo, hi - dt.timedelta(days=3)))
                channel = rng.choice(["訪問", "訪問", "オンライン", "メール", "電話"])
                minutes = {"訪問": 90, "オンライン": 60, "メール": 30, "電話": 30}[channel]
                records.append(dict(
                    date=d, muni="山形市", dept=rng.choice(DEPARTMENTS), slot="", theme=theme_text(rng, theme),
                    channel=channel, minutes=minutes, itc=rng.choice(MUNI_ITC["山形市"]), eid=f"YM-{fy}-01",
                    summary=f"{theme}に関する相談。" + rng.choice([
                        "仕様書の記載内容を確認した。", "見積の比較方法を助言した。",
                        "導入スケジュールと体制を確認した。", "ベンダーとの打合せに同席した。"]),
                ))
        # 山形市 システム相談会: every two months (5, 7, 9, 11, 1, 3), slots 1..6 of 50–60 minutes.
        for month in (5, 7, 9, 11, 1, 3):
            year = fy if month >= 4 else fy + 1
            first = dt.date(year, month, 1)
            day = first + dt.timedelta(days=(2 - first.weekday()) % 7 + 7)  # second Wednesday
            if day > LAST_DATE:
                continue
            slots = sorted(rng.sample(range(1, 7), rng.randint(3, 6)))
            for slot in slots:
                theme = rng.choice(MUNICIPAL_THEMES[:9])
                records.append(dict(
                    date=day, muni="山形市", dept=rng.choice(DEPARTMENTS), slot=slot,
                    theme=theme_text(rng, theme), channel="相談会", minutes=rng.choice([50, 60]),
                    itc=rng.choice(MUNI_ITC["山形市"]), eid=f"YM-{fy}-01",
                    summary=rng.choice([
                        "現状と課題を伺い、進め方を助言した。",
                        "他自治体の事例を紹介した。\n次回相談会で進捗を確認する。",
                        "担当課として何から着手すべきか、優先順位を整理した。",
                        "関連する国の通知（総務省）を案内した。",
                    ]),
                ))
        # ふじみ野市 / 岐阜市: CIO補佐官, about monthly.
        for muni, prefix in (("ふじみ野市", "FJ"), ("岐阜市", "GF")):
            for month in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3):
                year = fy if month >= 4 else fy + 1
                d = weekday_forward(dt.date(year, month, rng.randint(5, 25)))
                if d > LAST_DATE:
                    continue
                theme = rng.choice(MUNICIPAL_THEMES[:9])
                records.append(dict(
                    date=d, muni=muni, dept=rng.choice(["情報政策課", "DX推進課", "企画調整課", "総務課"]),
                    slot="", theme=theme_text(rng, theme), channel=rng.choice(["訪問", "訪問", "オンライン"]),
                    minutes=rng.choice([60, 90, 120]), itc=MUNI_ITC[muni][0], eid=f"{prefix}-{fy}-01",
                    summary=rng.choice([
                        "CIO補佐官として庁内会議に出席し、助言した。",
                        "次年度予算要求に向けた事業の優先順位を確認した。",
                        "ベンダー提案書の評価観点を整理した。",
                    ]),
                ))
        # 摂津市: DX推進計画 (drafting in FY2022, follow-up FY2023, revision FY2024).
        count = {2022: 10, 2023: 4, 2024: 6}[fy]
        for _ in range(count):
            d = weekday_forward(rand_date(rng, max(lo, dt.date(fy, 6, 1)), hi - dt.timedelta(days=3)))
            theme = rng.choice(["推進体制", "行政手続のオンライン化", "自治体フロントヤード改革",
                                "情報システムの標準化・共通化"])
            eid = {2022: "ST-2022-01", 2023: "", 2024: "ST-2024-01"}[fy]
            if fy == 2024 and d < dt.date(2024, 7, 1):
                eid = ""
            records.append(dict(
                date=d, muni="摂津市", dept="デジタル推進課", slot="", theme=theme_text(rng, theme),
                channel=rng.choice(["訪問", "オンライン"]), minutes=rng.choice([60, 90]),
                itc=MUNI_ITC["摂津市"][0], eid=eid,
                summary=rng.choice([
                    "DX推進計画の骨子案について、庁内ワーキングの意見を反映した。",
                    "計画の重点取組事項とKPIの設定方法を検討した。",
                    "計画の進捗状況を確認し、\"見直しが必要な項目\"を整理した。",
                ]),
            ))

    # The sample's last record: a consultation on LAST_DATE itself.
    records.append(dict(
        date=LAST_DATE, muni="山形市", dept="情報政策課", slot="", theme="情報システムの標準化・共通化",
        channel="オンライン", minutes=60, itc=MUNI_ITC["山形市"][0], eid="YM-2024-01",
        summary="標準準拠システムへの移行状況を確認し、令和7年度の作業計画を相談した。",
    ))

    records.sort(key=lambda r: (r["date"], r["muni"], str(r["slot"]), r["dept"], r["theme"]))
    rows: list[list[object]] = []
    counters: dict[int, int] = {}
    fmt_rng = rng_for("consultation-formats")
    for rec in records:
        assert rec["date"] <= LAST_DATE
        fy = fy_of(rec["date"])
        counters[fy] = counters.get(fy, 0) + 1
        rows.append([
            f"C-{fy}-{counters[fy]:03d}", fmt_date(rec["date"], fmt_rng), rec["muni"], MUNI_PREF[rec["muni"]],
            rec["muni"], rec["dept"], rec["slot"], rec["theme"], rec["channel"],
            fmt_duration(rec["minutes"], fmt_rng), rec["itc"], rec["eid"], rec["summary"],
        ])
    return rows


# --------------------------------------------------------------------------- events

def build_events() -> list[list[object]]:
    events: list[tuple] = []
    seminar_months = {2022: (7, 8, 8), 2023: (5, 6, 6), 2024: (5, 6, 6)}  # before 伴走 starts
    for fy in FISCAL_YEARS:
        r = reiwa(fy)
        rng = rng_for("events", fy)
        for code, cons in CONSORTIA.items():
            kinds = ["DX気づきセミナー", "DXセミナー1", "DXセミナー2"]
            days = (rng.randint(5, 12), rng.randint(1, 9), rng.randint(20, 28))
            for kind, month, day, town in zip(kinds, seminar_months[fy], days, cons["seminar_towns"]):
                d = weekday_forward(dt.date(fy, month, day))
                attendees = {"DX気づきセミナー": rng.randint(60, 90), "DXセミナー1": rng.randint(35, 55),
                             "DXセミナー2": rng.randint(25, 45)}[kind]
                companies = max(1, attendees - rng.randint(5, 15))
                applicants = attendees + rng.randint(3, 12)
                label = kind.replace("1", "（第1回）").replace("2", "（第2回）")
                events.append((d, f"令和{r}年度 {cons['prefecture']}{label}", kind, cons["name"],
                               cons["prefecture"], town, attendees, companies, applicants))
        # 自治体ビジネス基礎研修 for ITCs (online): May 120+ attendees, August about 60.
        may = weekday_forward(dt.date(fy, 5, rng.randint(15, 25)))
        aug = weekday_forward(dt.date(fy, 8, rng.randint(20, 28)))
        a = rng.randint(120, 145)
        events.append((may, f"令和{r}年度 自治体ビジネス基礎研修（5月・オンライン）", "基礎研修", "", "", "",
                       a, None, a + rng.randint(5, 20)))
        a = rng.randint(55, 65)
        events.append((aug, f"令和{r}年度 自治体ビジネス基礎研修（8月・OJT希望者）", "基礎研修", "", "", "",
                       a, None, a + rng.randint(2, 8)))
        # 山形市 職員研修: 3 times a year.
        for n, month in enumerate((6, 10, 1), start=1):
            year = fy if month >= 4 else fy + 1
            d = weekday_forward(dt.date(year, month, rng.randint(10, 20)))
            a = rng.randint(20, 40)
            events.append((d, f"令和{r}年度 山形市職員DX研修（第{n}回）", "職員研修", "", "山形県", "山形市",
                           a, None, a + rng.randint(0, 6)))
        # 岐阜市リスキリングアカデミー: 3 times a year.
        for n, month in enumerate((7, 11, 2), start=1):
            year = fy if month >= 4 else fy + 1
            d = weekday_forward(dt.date(year, month, rng.randint(5, 20)))
            a = rng.randint(25, 50)
            events.append((d, f"令和{r}年度 岐阜市リスキリングアカデミー（第{n}回）", "職員研修", "", "岐阜県",
                           "岐阜市", a, None, a + rng.randint(0, 10)))

    events.sort(key=lambda e: (e[0], e[1]))
    rows: list[list[object]] = []
    counters: dict[int, int] = {}
    for d, name, kind, cons, pref, muni, attendees, companies, applicants in events:
        assert d <= LAST_DATE
        fy = fy_of(d)
        counters[fy] = counters.get(fy, 0) + 1
        rows.append([f"EV-{fy}-{counters[fy]:02d}", name, kind, d, cons, pref, muni, attendees, companies,
                     applicants])
    return rows


# --------------------------------------------------------------------------- targets

def load_targets() -> tuple[list[list[object]], str]:
    """目標値 rows: from data/reference/targets.csv when present, otherwise generated."""
    if TARGETS_CSV.exists():
        with TARGETS_CSV.open(encoding="utf-8-sig", newline="") as f:
            rows = []
            for rec in csv.DictReader(f):
                target = rec["target"].strip()
                try:
                    value: object = int(target)
                except ValueError:
                    try:
                        value = float(target)
                    except ValueError:
                        value = target
                fy = rec["fiscal_year"].strip()
                rows.append([int(fy) if fy.isdigit() else fy, rec["consortium"].strip(),
                             rec["indicator"].strip(), value])
        return rows, str(TARGETS_CSV.relative_to(ROOT))

    rows = []
    for fy in FISCAL_YEARS:
        companies = {2022: 8, 2023: 9, 2024: 10}[fy]
        for cons in CONSORTIA.values():
            rows += [
                [fy, cons["name"], "支援企業数", companies],
                [fy, cons["name"], "伴走回数", companies * 10],
                [fy, cons["name"], "DX計画書策定数", companies],
                [fy, cons["name"], "セミナー参加者数", 100],
                [fy, cons["name"], "金融機関同行率", 50],  # percent of sessions
            ]
        rows += [[fy, "", "相談件数", 100], [fy, "", "支援自治体数", 4]]
    return rows, "generated"


# --------------------------------------------------------------------------- writers

def write_workbook(path: Path, events: list[list[object]], targets: list[list[object]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = "セミナー・研修"
    ws.append(["令和4〜6年度 セミナー・研修 実績（架空データを含むサンプル）"])
    ws["A1"].font = Font(bold=True, size=12)
    ws.append([])
    ws.append(EVENT_HEADERS)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in events:
        ws.append(row)
        ws.cell(row=ws.max_row, column=4).number_format = "yyyy/m/d"
    for col, width in zip("ABCDEFGHIJ", (12, 48, 16, 12, 26, 10, 12, 10, 10, 10)):
        ws.column_dimensions[col].width = width

    wt = wb.create_sheet("目標値")
    wt.append(TARGET_HEADERS)
    for cell in wt[1]:
        cell.font = Font(bold=True)
    for row in targets:
        wt.append(row)
    for col, width in zip("ABCD", (8, 26, 18, 10)):
        wt.column_dimensions[col].width = width

    props = wb.properties
    props.creator = "build_sample.py"
    props.lastModifiedBy = "build_sample.py"
    props.title = "地域DX支援モニター サンプル（架空データを含む）"
    props.created = WORKBOOK_TIMESTAMP
    props.modified = WORKBOOK_TIMESTAMP

    # openpyxl's save_workbook() stamps "modified" with now(); use ExcelWriter directly, then
    # rewrite the zip with fixed entry timestamps so the bytes do not depend on the clock.
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=WORKBOOK_TIMESTAMP.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    path.write_bytes(out.getvalue())


def build(out_dir: Path) -> dict[str, object]:
    out_dir.mkdir(parents=True, exist_ok=True)
    company_engagements, sessions = build_company_engagements()
    engagements = company_engagements + build_municipal_engagements()
    engagements.sort(key=lambda r: r[0])
    consultations = build_consultations()
    events = build_events()
    targets, targets_source = load_targets()

    (out_dir / ENGAGEMENTS_FILE).write_bytes(
        csv_text(ENGAGEMENT_HEADERS, engagements).encode("cp932", errors="strict"))
    (out_dir / SESSIONS_FILE).write_bytes(
        csv_text(SESSION_HEADERS, sessions).encode("cp932", errors="strict"))
    (out_dir / CONSULTATIONS_FILE).write_bytes(
        csv_text(CONSULTATION_HEADERS, consultations).encode("utf-8-sig"))
    write_workbook(out_dir / WORKBOOK_FILE, events, targets)
    return {
        "engagements": len(engagements), "sessions": len(sessions), "consultations": len(consultations),
        "events": len(events), "targets": len(targets), "targets_source": targets_source,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: data/sample)")
    args = parser.parse_args(argv)
    summary = build(args.out)
    print(f"wrote {args.out}: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
