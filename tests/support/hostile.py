"""A hostile record set: text in records, file names, sheet names, CSV headers and URL filter values that markdown,
HTML, plotly, deck.gl or a spreadsheet would act on if the app passed it on unescaped. Every string carries MARK,
so a test finds whatever was made of it (an element in the browser, a cell in an export).

    db = build_hostile_db(tmp_path, trap_url)      # the sample programme + the hostile files, through etl.load
"""
from __future__ import annotations

import contextlib
import http.server
import shutil
import threading
from pathlib import Path

import openpyxl

from etl.load import build_sample_database, load_files
from tests.support.etl_helpers import write_csv

MARK = "ZQX"                      # in every hostile string (never in the sample)
FY = 2022


def strings(trap: str) -> dict[str, str]:
    """name → hostile text; ``trap`` is the base URL of a local server that counts requests (nothing may reach it)."""
    return {
        "md_link": f"[押して{MARK}](http://evil.example/phish)",
        "md_image": f"![x{MARK}]({trap}/md.png)",
        "html": f"<b>太字{MARK}</b><a href=\"http://evil.example/\">リンク</a><img src=\"{trap}/html.png\">",
        "plotly": f"<a href=\"http://evil.example/\">社{MARK}</a><br><b>改行</b><span style=\"color:red\">赤</span>",
        "formula": f"=HYPERLINK(\"http://evil.example/\",\"{MARK}\")",
        "cmd": f"+cmd|' /C calc'!A0{MARK}",
        "at": f"@SUM(1){MARK}",
        "streamlit": f":red[赤字{MARK}] $x^2$ :material/home: **強調** http://evil.example/auto www.evil.example",
        "invisible": f"株式会社\u200b見えない\u200d{MARK}\u202eLTR逆転\u202c\u2066隔離\u2069\ufeff",
        "long": f"長い名前{MARK}" + "あ" * 3000,
    }


def _engagement(eid: str, client: str, consortium: str, coordinator: str, extra: str) -> dict[str, str]:
    return {"案件ID": eid, "年度": str(FY), "事業名": "令和4年度 地域DX促進活動支援事業", "コンソーシアム": consortium,
            "支援種別": "伴走支援", "支援先名": client, "支援先区分": "企業", "都道府県": "茨城県", "市区町村": "筑西市",
            "業種": extra, "担当ITC": coordinator, "同行金融機関": extra, "開始日": "2022-09-01", "終了日": "2023-03-31",
            "予定回数": "10", "状況": "実施中", "成果物": extra}


ENGAGEMENT_HEADER = ["案件ID", "年度", "事業名", "コンソーシアム", "支援種別", "支援先名", "支援先区分", "都道府県",
                     "市区町村", "業種", "担当ITC", "同行金融機関", "開始日", "終了日", "予定回数", "状況", "成果物"]
SESSION_HEADER = ["案件ID", "回", "実施日", "時間", "フェーズ", "担当ITC", "金融機関同行", "参加人数", "テーマ", "メモ"]
CONSULTATION_HEADER = ["相談ID", "相談日", "自治体名", "都道府県", "市区町村", "担当課", "相談テーマ", "対応ITC", "概要"]


def hostile_consortium(trap: str) -> str:
    return strings(trap)["html"]


def write_hostile_files(folder: Path, trap: str) -> list[Path]:
    """The record files (CSV with a hostile file name and a hostile extra header; an xlsx with a hostile sheet)."""
    s = strings(trap)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(s)
    consortia = [s["html"], s["plotly"], s["md_link"]]
    engagements, sessions, consultations = [], [], []
    for i, key in enumerate(names):
        eid = f"HX-{i:02d}"
        engagements.append(_engagement(eid, s[key], consortia[i % len(consortia)], s[names[(i + 1) % len(names)]],
                                       s[names[(i + 2) % len(names)]]))
        for n in (1, 2):
            sessions.append({"案件ID": eid, "回": str(n), "実施日": f"2022-1{n}-0{i % 9 + 1}", "時間": "120",
                             "フェーズ": "経営理念・ミッションの確認" if n == 1 else "DX構想の検討",
                             "担当ITC": s[names[(i + 1) % len(names)]], "金融機関同行": "有", "参加人数": "3",
                             "テーマ": s[names[(i + 3) % len(names)]], "メモ": s[key] + "\n2行目" + s["md_image"]})
        consultations.append({"相談ID": f"HC-{i:02d}", "相談日": f"2022-10-{i + 1:02d}", "自治体名": s[key],
                              "都道府県": "茨城県", "市区町村": "水戸市", "担当課": s[names[(i + 2) % len(names)]],
                              "相談テーマ": s[names[(i + 4) % len(names)]], "対応ITC": s["cmd"], "概要": s[key]})
    # the file name and one extra column header are hostile too (the upload page echoes both)
    bad_header = f"<b>列{MARK}</b>[x](http://evil.example/)"
    files = [
        write_csv(folder / f"支援案件_<img src=x>[{MARK}](javascript:alert(1))_=1+1.csv",
                  ENGAGEMENT_HEADER + [bad_header], [{**e, bad_header: s["formula"]} for e in engagements]),
        write_csv(folder / "伴走記録.csv", SESSION_HEADER, sessions),
    ]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "相談記録"
    ws.append(CONSULTATION_HEADER)
    for c in consultations:
        ws.append([c[h] for h in CONSULTATION_HEADER])
    other = wb.create_sheet(hostile_sheet_name())            # an unknown sheet: the page says so, quoting its name
    other.append(["x"])
    other.append(["y"])
    path = folder / "相談記録.xlsx"
    wb.save(path)
    files.append(path)
    return files


def hostile_sheet_name() -> str:
    return f"<b>{MARK}<b> $x$ __太__`c`"          # ≤ 31 characters, none of []:*?/\\


def url_params(trap: str) -> dict[str, str]:
    """URL filter values the notices echo (a crafted link)."""
    return {"都道府県": f"[押して{MARK}](http://evil.example/)", "コンソーシアム": f"<img src=\"{trap}/url.png\">{MARK}",
            "担当ITC": f"**太{MARK}**:red[赤]", "年度": str(FY)}


def build_hostile_db(folder: Path, trap: str, sample_master: Path | None = None) -> Path:
    """The sample programme, then the hostile files loaded with --accept-valid (the real loader)."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "hostile.duckdb"
    if sample_master is not None:
        shutil.copyfile(sample_master, db)
    else:
        build_sample_database(db)
    files = write_hostile_files(folder / "files", trap)
    report = load_files(files, db, accept_valid=True)
    if not report.loaded:
        raise RuntimeError(f"the hostile files did not load: {report.unreadable} "
                           f"{[(p.where(), p.reason) for p in report.errors[:5]]}")
    return db


# ── a local server that counts the requests it gets (nothing may reach it) ─────────────

class Trap(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        Trap.hits.append(self.path)
        body = b"<html><body>trap</body></html>"
        if self.path.startswith("/page"):
            # a page that asks for another local port and for an outside host
            body = (f'<html><body><img src="{self.server.other}/x.png">'
                    '<img src="http://evil.example/y.png"></body></html>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def http_server(other: str = ""):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trap)
    srv.other = other
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
