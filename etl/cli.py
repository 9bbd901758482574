"""python -m etl — a thin command line over the etl library."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .argparse_ja import JapaneseArgumentParser
from .kinds import KINDS
from .paths import db_path

COMMANDS = ("load", "check", "sample", "rebuild", "template", "generate", "report", "alerts", "history", "undo",
            "backup", "withdraw", "access")


def _progress(start: float):
    def show(message: str) -> None:
        print(f"[{time.monotonic() - start:6.1f}s] {message}", file=sys.stderr, flush=True)
    return show


def print_report(report, out=None, max_problems: int = 50) -> None:
    from .load import change_text
    out = out or sys.stdout  # looked up at call time, so redirection (and pytest's capsys) sees it
    for error in report.unreadable:
        print(f"読めないファイル: {error}", file=out)
    for t in report.tables:
        where = t.file_name + (f" [{t.sheet}]" if t.sheet else "")
        extra = f"、重複 {t.rows_duplicate:,}" if t.rows_duplicate else ""
        extra += f"、取り下げ（削除の印） {t.rows_withdrawn:,}" if t.rows_withdrawn else ""
        print(f"{where}: {KINDS[t.kind].label}（{t.kind}） 読込 {t.rows_read:,} 行 → 有効 {t.rows_valid:,}、"
              f"不合格 {t.rows_rejected:,}{extra}", file=out)
    errors = report.errors
    for p in errors[:max_problems]:
        value = f"（値: {p.value}）" if p.value is not None else ""
        print(f"エラー: {p.where()}: {p.reason}{value}", file=out)
    if len(errors) > max_problems:
        print(f"…ほか {len(errors) - max_problems:,} 件のエラー", file=out)
    warnings = report.warnings
    for w in warnings[:max_problems]:
        print(f"注意: {w}", file=out)
    if len(warnings) > max_problems:
        print(f"…ほか {len(warnings) - max_problems:,} 件の注意", file=out)
    for n in report.file_notes:
        print(f"メモ: {n}", file=out)
    notes = report.mapping_notes
    for n in notes[:max_problems]:
        print(f"メモ（対応づけ）: {n}", file=out)
    if len(notes) > max_problems:
        print(f"…ほか {len(notes) - max_problems:,} 件のメモ", file=out)
    for note in report.notes:
        print(note, file=out)
    totals = report.rows_by_kind()
    summary = "、".join(f"{KINDS[k].label} {n:,} 行" for k, n in totals.items())
    if report.loaded:
        print(f"取り込みました: {summary}", file=out)
        for kind, (new, updated, unchanged) in report.changes_by_kind().items():
            print(f"  {KINDS[kind].label}: {change_text(new, updated, unchanged)}", file=out)
    elif report.unreadable:
        print("読めないファイルがあるため、何も書き込んでいません", file=out)
    elif errors:
        print(f"エラーが {len(errors):,} 件あるため、何も書き込んでいません"
              "（有効な行だけ取り込むには --accept-valid）", file=out)
    else:
        print(f"検証のみ（書き込みなし）: {summary}", file=out)
    if not report.unreadable:
        print(f"データ基準日: {as_of_text(report)}", file=out)


def as_of_text(report) -> str:
    """「2024-03-31（指定）」 or 「2024-03-31（取込日までに実施した活動の最新日）」."""
    if report.as_of is None:
        return "不明（取込日までに実施した活動の記録がありません）"
    how = "指定" if report.as_of_source == "stated" else "取込日までに実施した活動の最新日"
    return f"{report.as_of:%Y-%m-%d}（{how}）"


DB_HELP = "データベースファイル（既定: DX_DB_PATH か data/dx.duckdb）"
AS_OF_FORMS = "例: 2024-03-31、令和6年3月31日"


def _add_db(p: argparse.ArgumentParser, help: str | None = None) -> None:
    p.add_argument("--db", help=help)


def _add_as_of(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help=help)


def _add_scope(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scope", metavar="都道府県[,都道府県…]",
                   help="この取込が変更できる都道府県（例: 茨城県,長野県）。範囲外の記録を変える行は不合格にする")


def build_parser() -> argparse.ArgumentParser:
    """The verbs, each with the function that runs it (``set_defaults(func=…)``)."""
    parser = JapaneseArgumentParser(prog="python -m etl", description="地域DX支援モニター: 記録ファイルの取込")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("load", help="記録ファイル（CSV/XLSX、フォルダ可）を検証してデータベースに取り込む")
    p.add_argument("paths", nargs="+", type=Path)
    _add_db(p, DB_HELP)
    p.add_argument("--accept-valid", action="store_true", help="不合格の行を除き、有効な行だけ取り込む")
    p.add_argument("--fresh", action="store_true", help="既存の記録を捨て、空のデータベースから取り込む")
    _add_as_of(p, f"データ基準日を指定する（{AS_OF_FORMS}。省略時は取込日までに実施した活動の最新日）")
    _add_scope(p)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("check", help="検証だけを行い、何も書き込まない")
    p.add_argument("paths", nargs="*", type=Path)
    _add_db(p, "照合に使うデータベース（既定: DX_DB_PATH か data/dx.duckdb）")
    _add_as_of(p, "取込時に指定するデータ基準日（その日より後の記録を注意として示す）")
    _add_scope(p)
    p.add_argument("--summary", action="store_true",
                   help="コンソーシアムごとのデータの鮮度と欠損を表示する（ファイルなしでも可）")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("access", help="サインインの付与ファイル（access.toml）を確かめる")
    verbs = p.add_subparsers(dest="access_verb", required=True)
    q = verbs.add_parser("check", help="付与ファイルを検証する（誤りがあれば行と理由を示し、終了コード 1）")
    q.add_argument("--file", type=Path, help="付与ファイル（既定: DX_ACCESS_FILE か access.toml）")
    q.set_defaults(func=cmd_access_check)

    p = sub.add_parser("history", help="変更の履歴（取込・取消・取り下げ…）と元に戻せる版を表示する")
    _add_db(p)
    p.set_defaults(func=cmd_stewardship)

    p = sub.add_parser("undo", help="指定した変更（既定: 最新）の前の状態に戻す（この取消も履歴に残り、元に戻せる）")
    p.add_argument("load_id", nargs="?", type=int, help="履歴の番号（python -m etl history）")
    _add_db(p)
    p.set_defaults(func=cmd_stewardship)

    p = sub.add_parser("backup", help="表示中でも一貫したデータベースの複製を書き出す")
    p.add_argument("out", type=Path)
    _add_db(p)
    p.set_defaults(func=cmd_stewardship)

    p = sub.add_parser("withdraw", help="誤って取り込んだ記録を取り下げる（履歴に残り、元に戻せる）")
    p.add_argument("--kind", required=True, choices=list(KINDS), help="記録の種類")
    p.add_argument("--id", action="append", required=True, dest="ids",
                   help="取り下げる記録の ID（複数可）。sessions は 案件ID:回、targets は 年度:コンソーシアム:指標")
    p.add_argument("--with-sessions", action="store_true", help="支援案件の伴走記録も一緒に取り下げる")
    _add_db(p)
    p.set_defaults(func=cmd_stewardship)

    p = sub.add_parser("sample", help="data/sample/ のサンプル事業からデータベースを作り直す")
    _add_db(p)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("rebuild", help="更新で集計表の定義が変わったとき、記録はそのままで集計表だけを作り直す")
    _add_db(p)
    p.add_argument("--if-outdated", action="store_true", help="集計表が古い版のときだけ作り直す")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("template", help="Excel の入力テンプレートを書き出す")
    p.add_argument("out", type=Path)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("generate", help="全国規模の合成記録ファイルを書き出す（性能測定用）")
    p.add_argument("--sessions", type=int, required=True, help="伴走記録の行数（支援案件はその約1/10、相談記録は約同数）")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("out_dir", type=Path)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("report", help="報告ページ（印刷レイアウト）を A4 横の PDF にする（Chromium が必要）")
    p.add_argument("--fiscal-year", type=int, required=True, help="年度（西暦、例: 2022）")
    p.add_argument("--consortium", default=None, help="コンソーシアム（省略時は事業全体）")
    p.add_argument("--out", type=Path, required=True)
    _add_db(p)
    p.set_defaults(func=cmd_report)

    # its options are monitor/alerts.py's own (main() hands it the arguments before this parser sees them)
    p = sub.add_parser("alerts", add_help=False,
                       help="停滞案件・目標に届かない見込み・データが届いていないグループ（cron 向け。あれば終了コード 1）")
    p.add_argument("alerts_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda args: cmd_alerts(args.alerts_args))
    return parser


INTERRUPTED = 130      # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    try:
        if argv[:1] == ["alerts"]:
            return cmd_alerts(argv[1:])
        args = build_parser().parse_args(argv)
        args.start = time.monotonic()
        return args.func(args)
    except (KeyboardInterrupt, Exception) as e:
        if not _interrupted(e):
            raise
        # Ctrl-C: a sentence, not a traceback. A load stopped before its swap leaves the database as it was (the
        # temp copy goes); one stopped after it is complete, which `history` shows
        print("中断しました（Ctrl-C）。取込の途中なら、データベースは取込の前か後のどちらかの状態です"
              "（python -m etl history で確かめられます）", file=sys.stderr)
        return INTERRUPTED


def _interrupted(e: BaseException) -> bool:
    """Ctrl-C: Python's KeyboardInterrupt, or DuckDB's, raised in a running query instead ("Query interrupted", a
    RuntimeError, or duckdb.InterruptException; duckdb is not imported here for the name)."""
    return isinstance(e, KeyboardInterrupt) or type(e).__name__ == "InterruptException" or (
        type(e) is RuntimeError and str(e).strip() == "Query interrupted")


# ── the read side: the one place etl imports monitor ─────────────────────────────

READ_SIDE_VERBS = {"report": "monitor.report_pdf", "alerts": "monitor.alerts"}


def read_side_main(verb: str):
    """``main`` of the read-side module behind ``verb`` (report, alerts), imported only when that verb runs.

    The one exception to "etl does not import monitor" (docs/development.md): the PDF report and the alerts are the
    dashboard's figures, computed by the read side, and stewards run them next to load and check (cron, one entry
    point). Importing lazily keeps every other verb, and every etl import, free of monitor and Streamlit."""
    if READ_SIDE_VERBS[verb] == "monitor.report_pdf":
        from monitor.report_pdf import main
    else:
        from monitor.alerts import main
    return main


def cmd_report(args) -> int:
    argv = ["--fiscal-year", str(args.fiscal_year), "--out", str(args.out)]
    argv += ["--consortium", args.consortium] if args.consortium else []
    argv += ["--db", args.db] if args.db else []
    return read_side_main("report")(argv)


def cmd_alerts(argv: list[str]) -> int:
    return read_side_main("alerts")(argv)


# ── the write side ───────────────────────────────────────────────────────────────

def cmd_access_check(args) -> int:
    """Validate the grants file: each problem with its line and entry; exit 0 valid, 1 not. Written to the audit trail."""
    from .audit import AuditUnavailable, record  # noqa: PLC0415
    from .grants import ROLE_LABELS, grants_path, read_grants  # noqa: PLC0415
    path = args.file or grants_path()
    grants, errors, warnings = read_grants(path)
    for e in errors:
        print(f"エラー: {e}")
    for w in warnings:
        print(f"注意: {w}")
    if not errors:
        counts = "、".join(f"{ROLE_LABELS[r]} {sum(g.role == r for g in grants)} 人" for r in ROLE_LABELS)
        print(f"{path}: 正しく読めました（{len(grants)} 人: {counts}）")
    else:
        print(f"{path}: エラーが {len(errors)} 件あります。直すまで、サインインした誰もデータを見られません。")
    try:
        record(_os_user(), "grants_check", str(path), "", "正しい" if not errors else f"エラー {len(errors)} 件")
    except AuditUnavailable as exc:
        print(f"注意: {exc}", file=sys.stderr)
    return 0 if not errors else 1


def _os_user() -> str:
    import getpass  # noqa: PLC0415
    try:
        return f"コマンド（{getpass.getuser()}）"
    except (KeyError, OSError):
        return "コマンド"


def cmd_generate(args) -> int:
    from .generate import generate
    counts = generate(args.out_dir, args.sessions, args.seed)
    for kind, n in counts.items():
        print(f"{kind}: {n:,} 行")
    print(f"書き出しました: {args.out_dir}（{time.monotonic() - args.start:.1f} 秒）")
    return 0


def cmd_template(args) -> int:
    from .template import write_template
    write_template(args.out)
    print(f"テンプレートを書き出しました: {args.out}")
    return 0


def cmd_stewardship(args) -> int:
    from .stewardship_cli import run
    return run(args, db_path(args.db))


def cmd_rebuild(args) -> int:
    import duckdb

    from .load import LoadBusy, marts_outdated, rebuild_marts
    db = db_path(args.db)
    if not db.exists():
        print(f"データベースがありません: {db}（`python -m etl sample` か `python -m etl load` で作成）",
              file=sys.stderr)
        return 2
    try:
        if args.if_outdated and not marts_outdated(db):
            print(f"集計表は最新です: {db}")
            return 0
        built = rebuild_marts(db, progress=_progress(args.start))
    except LoadBusy as e:
        print(str(e), file=sys.stderr)
        return 3
    except duckdb.Error as e:
        print(f"データベース {db} を開けません（DuckDB のファイルではないか、壊れています）: "
              f"{str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"集計表を作り直しました: {len(built)} 表（{db}、{time.monotonic() - args.start:.1f} 秒）")
    return 0


def cmd_sample(args) -> int:
    from .load import build_sample_database
    db = db_path(args.db)
    return _finish(args, db, lambda: build_sample_database(db, progress=_progress(args.start)))


def cmd_check(args) -> int:
    from .load import check_files
    db = db_path(args.db)
    if not args.paths:
        if not args.summary:
            print("検証するファイルかフォルダを指定してください（データベースの要約だけなら --summary）", file=sys.stderr)
            return 2
        from .stewardship_cli import print_summary
        return print_summary(db)
    as_of, code = _as_of(args)
    scope, scope_code = _scope(args)
    code = code or scope_code
    if code is None:
        code = _paths_problem(args.paths)
    if code is not None:
        return code
    return _finish(args, db, lambda: check_files(args.paths, db, as_of=as_of, scope=scope))


def cmd_load(args) -> int:
    from .load import load_files
    db = db_path(args.db)
    as_of, code = _as_of(args)
    scope, scope_code = _scope(args)
    code = code or scope_code
    if code is None:
        code = _paths_problem(args.paths)
    if code is not None:
        return code
    return _finish(args, db, lambda: load_files(args.paths, db, accept_valid=args.accept_valid, fresh=args.fresh,
                                                progress=_progress(args.start), as_of=as_of, scope=scope))


def _scope(args):
    """(the --scope prefectures or None, None) or (None, 2) after saying which name is unknown."""
    if args.scope is None:
        return None, None
    from .scope import ScopeRefused, parse_scope
    try:
        return parse_scope(args.scope), None
    except ScopeRefused as e:
        print(str(e), file=sys.stderr)
        return None, 2


def _as_of(args):
    """(the --as-of date or None, None) or (None, 2) after saying why it is not a date."""
    if args.as_of is None:
        return None, None
    from .macros import parse_date
    from .validate import impossible_date_reason
    as_of = parse_date(args.as_of)
    if as_of is None:
        why = impossible_date_reason(args.as_of) or "日付として読めません（例: 2024-03-31、2024/3/31、R6.3.31、令和6年3月31日）"
        print(f"--as-of「{args.as_of}」: {why}", file=sys.stderr)
        return None, 2
    return as_of, None


def _paths_problem(paths: list[Path]) -> int | None:
    from .extract import NO_RECORD_FILES, iter_input_files
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"ファイルがありません: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not iter_input_files(paths):
        print(f"{NO_RECORD_FILES}: " + ", ".join(map(str, paths)), file=sys.stderr)
        return 2
    return None


def _finish(args, db: Path, run) -> int:
    """Run a load, check or sample (``run`` → BatchReport), print its report, return its exit code."""
    from .load import DatabaseUnreadable, LoadBusy, ScopeRefused, WriteFailed
    try:
        report = run()
    except LoadBusy as e:
        print(str(e), file=sys.stderr)
        return 3
    except (DatabaseUnreadable, WriteFailed, ScopeRefused) as e:
        print(str(e), file=sys.stderr)
        return 2
    except MemoryError:
        print("メモリが足りず処理を中止しました（データベースは変更していません）。ファイルを分けて取り込んでください",
              file=sys.stderr)
        return 2
    print_report(report)
    if args.command == "check" and args.summary and report.exit_code != 2:
        from .stewardship_cli import print_summary
        code = print_summary(db, required=False)
        if code:
            return code
    if report.loaded:
        print(f"データベース: {db}（{time.monotonic() - args.start:.1f} 秒）")
    return report.exit_code
