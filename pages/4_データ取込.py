"""データ取込: upload record files → validation report per file → load the valid rows or cancel → result;
below, the load history, the rejected rows as .xlsx and the input template. The only page that writes, and only
through etl.load (a copy of the database swapped in atomically). Logic: monitor/intake.py."""
import streamlit as st

from etl.load import DatabaseUnreadable, LoadBusy
from etl.versions import Refused
from monitor import access, intake, ui
from monitor.read.db import meta, resolve_path
from monitor.read.queries import data_as_of
from monitor.exports import XLSX_MIME
from monitor.read.filters import allowed_prefectures
from monitor.format import fmt_date
from monitor.plain import md_escape

KEY_UPLOADER = "intake_files"
KEY_AS_OF = "intake_as_of"
KEY_LOAD = "intake_load"
KEY_CANCEL = "intake_cancel"
KEY_PENDING_DOWNLOAD = "intake_pending_rejected_download"
KEY_REJECTED_LOAD = "intake_rejected_load"
KEY_REJECTED_DOWNLOAD = "intake_rejected_download"
KEY_TEMPLATE_DOWNLOAD = "intake_template_download"
STATE_VALIDATION = "_intake_validation"
STATE_DONE = "_intake_done"          # (signature, outcome message lines, kind) of the last loaded / cancelled upload
KEY_UNDO = "intake_undo"
KEY_UNDO_CONFIRM = "intake_undo_confirm"   # + the entry's id, so a new latest change starts unconfirmed
STATE_UNDONE = "_intake_undone"      # message of the last undo, shown once after the rerun

ui.page_setup("データ取込")
access.require_role("steward", "データ取込")      # viewers: refused (monitor/access.py), with an audit row
intake.sweep_once()
restricted = intake.restriction_notice(allowed_prefectures())
db = resolve_path()
m = meta()
as_of_how = "（取込時に指定）" if m["raw"].get("data_as_of_source") == "stated" else ""
st.caption(f"取込先: {md_escape(db.name)}　｜　データ基準日: {fmt_date(data_as_of())}{as_of_how}　｜　"
           "検証と取込はコマンド（python -m etl load）と同じ処理です。取込はデータベースの複製に書き込んでから"
           "一度に置き換えるため、表示中の画面が途中の状態を見ることはありません。")
if m["is_sample"]:
    st.info("いまはサンプルデータを表示しています。記録を取り込むとサンプルデータは外れ、取り込んだ記録だけになります。")

if restricted:
    st.warning(restricted)
files = None if restricted else st.file_uploader("記録ファイル（CSV / Excel、複数可）", type=intake.ACCEPTED_TYPES,
                                                 accept_multiple_files=True, key=KEY_UPLOADER)
as_of_text = None if restricted else st.text_input(
    "データ基準日（空欄なら、取込日までに実施した伴走記録・相談記録・イベントの最新日）", key=KEY_AS_OF,
    placeholder="例: 2024-03-31、令和6年3月31日",
    help="経過日数と停滞はこの日付から数えます。予定の案件の開始日は基準日を動かしません。"
         "この日付より後の記録は注意として示します（取り込みます）。")
as_of, as_of_error = intake.parse_as_of(as_of_text)
if as_of_error:
    st.error(md_escape(as_of_error))
uploads = [(f.name, f.getvalue()) for f in (files or [])]
signature = intake.upload_signature(uploads, as_of) if uploads and not as_of_error else None

validation = st.session_state.get(STATE_VALIDATION)
if validation is not None and validation.signature != signature:
    validation.discard()
    st.session_state.pop(STATE_VALIDATION, None)
    validation = None

done = st.session_state.get(STATE_DONE)
if done and done[0] == signature:
    kind, lines = done[2], done[1]
    (st.success if kind == "loaded" else st.info)("\n\n".join(md_escape(line) for line in lines))
elif uploads and not as_of_error:
    if validation is None:
        # in the worker process (memory-capped, one at a time): the page shows its progress messages
        with st.status("検証しています…", expanded=False) as status:
            try:
                validation = intake.validate_uploads(uploads, db, as_of, progress=status.write)
            except (intake.WorkerFailed, LoadBusy) as e:
                status.update(label="検証できませんでした", state="error")
                failed = str(e)
            else:
                status.update(label="検証しました", state="complete")
                failed = None
                access.log("validate", [n for n, _ in uploads], "", f"不合格 {len(validation.report.errors):,} 件")
        if failed:
            st.error(md_escape(failed))
            st.stop()
        st.session_state[STATE_VALIDATION] = validation
    report = validation.report

    st.subheader("検証結果")
    for name in intake.file_names(report):
        with st.container(border=True):
            st.markdown(f"**{md_escape(name)}**")       # file, sheet and header names are the uploader's text
            unreadable = [u for u in report.unreadable if u.startswith(f"{name}: ")]
            for u in unreadable:
                st.error(md_escape(u))
            if not unreadable:
                c = intake.file_counts(report, name)
                cols = st.columns(5)
                cols[0].metric("読込行数", f"{c['read']:,}")
                cols[1].metric("取込予定", f"{c['valid']:,}")
                cols[2].metric("不合格", f"{c['rejected']:,}")
                cols[3].metric("注意", f"{c['warnings']:,}")
                cols[4].metric("メモ（対応づけ）", f"{c['notes']:,}")
                st.dataframe(intake.summary_frame(report, name), hide_index=True)
            for w in intake.file_warnings(report, name):
                st.warning(md_escape(w))
            for n in intake.file_notes(report, name):
                st.text(f"メモ: {n}")  # plain text: it holds a file name
            problems = intake.problems_frame(report, name)
            if not problems.empty:
                st.dataframe(problems, hide_index=True)

    if report.unreadable:
        st.error("読めないファイルがあります。そのファイルを外すか直してからアップロードし直してください（何も書き込んでいません）。")
    elif not validation.can_load:
        st.warning("取り込める行がありません。")
    elif report.errors:
        st.warning(f"不合格の行が {len(report.errors):,} 件の問題で見つかりました。有効な {validation.rows_to_load:,} 行だけを"
                   "取り込むか、取り消して直したファイルをアップロードしてください。")
    st.caption(intake.as_of_line(report) + "（取込後の値は、残る記録全体から計算し直します）")
    if validation.pending_rejected:
        st.download_button("不合格の行をダウンロード（.xlsx、修正して再アップロード用）",
                           access.audited("rejected_rows", "未取込（検証のみ）", lambda v=validation: intake.rejected_xlsx(
                               v.pending_rejected, "未取込（検証のみ）")),
                           file_name="不合格の行.xlsx", mime=XLSX_MIME, key=KEY_PENDING_DOWNLOAD)

    c1, c2 = st.columns(2)
    load_clicked = c1.button("有効な行を取り込む", key=KEY_LOAD, type="primary", disabled=not validation.can_load)
    cancel_clicked = c2.button("取消", key=KEY_CANCEL)
    if cancel_clicked:
        validation.discard()
        st.session_state.pop(STATE_VALIDATION, None)
        st.session_state[STATE_DONE] = (signature, ["取り消しました。データベースには何も書き込んでいません。"], "cancelled")
        st.rerun()
    if load_clicked:
        bar = st.progress(0.0, text="取込を始めます")
        with st.status("取り込んでいます…", expanded=True) as status:
            def progress(message: str) -> None:
                status.write(md_escape(message))
                bar.progress(intake.progress_fraction(message), text=md_escape(message))
            failure = None
            access.log("load", [n for n, _ in uploads], "", "開始")
            try:
                result = intake.load_validated(validation, db, progress=progress)
            except LoadBusy as e:
                failure, result = f"{e}（データベースは変更していません）", None
            except intake.WorkerFailed as e:
                failure, result = str(e), None
            except Exception as e:  # noqa: BLE001 - the database is unchanged: a load writes a copy and swaps it in
                failure, result = f"取込に失敗しました（データベースは変更していません）: {e}", None
            if failure:
                status.update(label="取り込めませんでした", state="error")
            else:
                bar.progress(1.0, text="完了")
                status.update(label="取り込みました", state="complete")
        if failure:       # outside the status box, which collapses: the reason stays in sight
            st.error(md_escape(failure))
        access.log("load", [n for n, _ in uploads], "", "取り込みました" if result is not None and result.loaded
                   else f"取り込めませんでした: {failure or '検証結果'}")
        if result is not None and result.loaded:
            validation.discard()
            st.session_state.pop(STATE_VALIDATION, None)
            st.session_state[STATE_DONE] = (signature, intake.result_lines(result), "loaded")
            st.rerun()
        elif result is not None:
            st.error("取り込めませんでした。検証結果を確認してください（データベースは変更していません）。")
elif not restricted:
    st.info("取り込む記録ファイルを選んでください。列名・書き方は下の入力テンプレートを参考にしてください。")

st.divider()
st.subheader("取込履歴")
history = intake.load_history(db)
if history.empty:
    st.caption("まだ取込の記録がありません。")
else:
    st.dataframe(history, hide_index=True, key="intake_history")
    ui.csv_download(history, "取込履歴", "intake_history_csv")

st.subheader("変更の履歴と取消")
st.caption("取込・取消・取り下げ・集計表の作り直しのたびに、置き換えた前の版を保存しています"
           "（直近の版のみ。コマンドでは python -m etl history / python -m etl undo 番号）。")
undone_message = st.session_state.pop(STATE_UNDONE, None)
if undone_message:
    st.success(undone_message)
changes = intake.change_history(db)
if changes.empty:
    st.caption("まだ変更の履歴がありません。")
else:
    st.dataframe(changes, hide_index=True, key="intake_changes")
if restricted:
    st.caption("閲覧範囲が限られているため、取消はできません（取消はすべての都道府県の記録に及びます）。")
elif not access.role_allows("admin"):
    st.caption("取消は管理者だけが行えます。")
else:
    latest = intake.latest_change(db)
    if latest is None:
        st.caption("取り消せる変更はありません。")
    else:
        st.text(f"直前の変更: {intake.versions.describe(latest)}")   # file names as plain text
        confirmed = st.checkbox("この変更を取り消し、その前の状態に戻すことを確認しました（この取消も履歴に残り、元に戻せます）",
                                key=f"{KEY_UNDO_CONFIRM}_{latest['id']}")
        if st.button("直前の変更を取り消す", key=KEY_UNDO, disabled=not confirmed):
            access.require_role("admin", "取消")     # also when the button is forged for a non-admin
            access.log("undo", intake.versions.describe(latest), "", "開始")
            try:
                entry = intake.undo_change(latest["id"], db)
            except (LoadBusy, Refused, DatabaseUnreadable) as e:
                st.error(f"{e}（データベースは変更していません）")
            except Exception as e:  # noqa: BLE001 - the database is unchanged: the undo writes a copy and swaps it in
                st.error(f"取り消せませんでした（データベースは変更していません）: {e}")
            else:
                st.session_state[STATE_UNDONE] = f"取り消しました: {entry['undone']} の前の状態に戻しました。"
                st.rerun()

st.subheader("データの鮮度と欠損")
fresh_table, fresh_note = intake.freshness_table(db, allowed_prefectures())
if fresh_table.empty:
    st.caption("記録がありません。")
else:
    st.dataframe(fresh_table, hide_index=True, key="intake_freshness")
    st.caption(fresh_note)

st.subheader("不合格の行")
loads = [] if restricted else intake.loads_with_rejections(db)
if restricted:
    st.caption("閲覧範囲が限られているため表示しません。")
elif not loads:
    st.caption("不合格の行のある取込はありません。")
else:
    labels = dict(loads)
    chosen = st.selectbox("取込", [lid for lid, _ in loads], format_func=labels.get, key=KEY_REJECTED_LOAD)
    frames = intake.rejected_frames(chosen, db)
    st.download_button("不合格の行をダウンロード（.xlsx、理由の列つき）",
                       access.audited("rejected_rows", labels[chosen], lambda f=frames, n=labels[chosen]:
                                      intake.rejected_xlsx(f, n)),
                       file_name=f"不合格の行_取込{chosen}.xlsx", mime=XLSX_MIME, key=KEY_REJECTED_DOWNLOAD)

st.subheader("入力テンプレート")
st.download_button("入力テンプレート（.xlsx）をダウンロード", intake.template_bytes(), file_name="入力テンプレート.xlsx",
                   mime=XLSX_MIME, key=KEY_TEMPLATE_DOWNLOAD)
