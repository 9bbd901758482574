"""データ取込's parts: the header, the upload inputs, the validation report per file, the load / cancel step, and
the sections below (load history, changes and undo, freshness, rejected rows, template).

The logic (worker, frames, history) is monitor/intake.py; this module only draws and keeps the page's session
state. Every text from a file or record is shown as plain text (md_escape / st.text)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from etl.load import DatabaseUnreadable, LoadBusy
from etl.versions import Refused
from monitor import access, intake, ui
from monitor.exports import XLSX_MIME
from monitor.format import fmt_date, screen_dates
from monitor.plain import md_escape
from monitor.read.db import meta
from monitor.read.filters import allowed_prefectures
from monitor.read.queries import data_as_of

KEY_UPLOADER = "intake_files"
KEY_AS_OF = "intake_as_of"
KEY_LOAD = "intake_load"
KEY_CANCEL = "intake_cancel"
KEY_PENDING_DOWNLOAD = "intake_pending_rejected_download"
KEY_REJECTED_LOAD = "intake_rejected_load"
KEY_REJECTED_DOWNLOAD = "intake_rejected_download"
KEY_TEMPLATE_DOWNLOAD = "intake_template_download"
KEY_UNDO = "intake_undo"
KEY_UNDO_CONFIRM = "intake_undo_confirm"   # + the entry's id, so a new latest change starts unconfirmed
STATE_VALIDATION = "_intake_validation"
STATE_FINISHED = "_intake_finished"        # Finished: the last loaded / cancelled upload
STATE_UNDONE = "_intake_undone"            # message of the last undo, shown once after the rerun


@dataclass(frozen=True)
class Uploads:
    """What the uploader and the as-of field hold on this run."""
    files: list[tuple[str, bytes]]
    as_of: dt.date | None
    as_of_error: str | None

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.files]

    @property
    def signature(self) -> str | None:
        """Identifies this upload (files and as-of); None when there is nothing valid to validate."""
        if not self.files or self.as_of_error:
            return None
        return intake.upload_signature(self.files, self.as_of)


@dataclass(frozen=True)
class Finished:
    """An upload that was loaded or cancelled: its outcome stays on screen while the same files stay chosen."""
    signature: str
    lines: list[str]
    loaded: bool

    def show(self) -> None:
        (st.success if self.loaded else st.info)("\n\n".join(md_escape(line) for line in self.lines))


def header(db: Path) -> None:
    m = meta()
    as_of_how = "（取込時に指定）" if m["raw"].get("data_as_of_source") == "stated" else ""
    st.caption(f"取込先: {md_escape(db.name)}　｜　データ基準日: {fmt_date(data_as_of())}{as_of_how}　｜　"
               "検証と取込はコマンド（python -m etl load）と同じ処理です。取込はデータベースの複製に書き込んでから"
               "一度に置き換えるため、表示中の画面が途中の状態を見ることはありません。")
    if m["is_sample"]:
        st.info("いまはサンプルデータを表示しています。記録を取り込むとサンプルデータは外れ、取り込んだ記録だけになります。")


def upload_inputs() -> Uploads:
    files = st.file_uploader("記録ファイル（CSV / Excel、複数可）", type=intake.ACCEPTED_TYPES,
                             accept_multiple_files=True, key=KEY_UPLOADER)
    as_of_text = st.text_input(
        "データ基準日（空欄なら、取込日までに実施した伴走記録・相談記録・イベントの最新日）", key=KEY_AS_OF,
        placeholder="例: 2024-03-31、令和6年3月31日",
        help="経過日数と停滞はこの日付から数えます。予定の案件の開始日は基準日を動かしません。"
             "この日付より後の記録は注意として示します（取り込みます）。")
    as_of, as_of_error = intake.parse_as_of(as_of_text)
    if as_of_error:
        st.error(md_escape(as_of_error))
    return Uploads([(f.name, f.getvalue()) for f in (files or [])], as_of, as_of_error)


def finished(signature: str | None) -> Finished | None:
    """The outcome of this very upload, if it was already loaded or cancelled."""
    done = st.session_state.get(STATE_FINISHED)
    return done if done is not None and signature is not None and done.signature == signature else None


def _forget_validation() -> None:
    validation = st.session_state.pop(STATE_VALIDATION, None)
    if validation is not None:
        validation.discard()


def validation_for(uploads: Uploads, db: Path) -> intake.Validation | None:
    """The validation of this upload: kept from an earlier run, or run now in the worker (its progress shown).
    None (after an error message) when the worker could not validate."""
    validation = st.session_state.get(STATE_VALIDATION)
    if validation is not None and validation.signature == uploads.signature:
        return validation
    _forget_validation()
    # in the worker process (memory-capped, one at a time): the page shows its progress messages
    with st.status("検証しています…", expanded=False) as status:
        try:
            validation = intake.validate_uploads(uploads.files, db, uploads.as_of,
                                                 progress=lambda p: status.write(md_escape(p.text)),
                                                 scope=allowed_prefectures())   # the session's, server-side
        except (intake.WorkerFailed, LoadBusy) as e:
            status.update(label="検証できませんでした", state="error")
            st.error(md_escape(str(e)))
            return None
        status.update(label="検証しました", state="complete")
    access.log("validate", uploads.names, "", f"不合格 {len(validation.report.errors):,} 件")
    st.session_state[STATE_VALIDATION] = validation
    return validation


def forget_stale_validation(signature: str | None) -> None:
    """A validation of other files (or none chosen any more) is discarded with its temporary files."""
    validation = st.session_state.get(STATE_VALIDATION)
    if validation is not None and validation.signature != signature:
        _forget_validation()


def _file_report(report, name: str) -> None:
    with st.container(border=True):
        st.markdown(f"**{md_escape(name)}**")       # file, sheet and header names are the uploader's text
        unreadable = [u for u in report.unreadable if u.startswith(f"{name}: ")]
        for u in unreadable:
            st.error(md_escape(u))
        if not unreadable:
            c = intake.file_counts(report, name)
            cols = st.columns(5)
            for col, (label, key) in zip(cols, intake.FILE_COUNT_LABELS):
                col.metric(label, f"{c[key]:,}")
            st.dataframe(intake.summary_frame(report, name), hide_index=True)
        for w in intake.file_warnings(report, name):
            st.warning(md_escape(w))
        for n in intake.file_notes(report, name):
            st.text(f"メモ: {n}")  # plain text: it holds a file name
        problems = intake.problems_frame(report, name)
        if not problems.empty:
            # the reason is read whole at 1,024 px: wrapped rows, 区分 … 理由 within the main area
            st.dataframe(problems, hide_index=True, **ui.wrapped_table_args(PROBLEM_COLUMNS, len(problems)))


PROBLEM_COLUMNS = {"区分": st.column_config.TextColumn(width=110), "行": st.column_config.NumberColumn(width=45),
                   "列": st.column_config.TextColumn(width=90), "理由": st.column_config.TextColumn(width=280)}


def validation_report(validation: intake.Validation) -> None:
    report = validation.report
    st.subheader("検証結果")
    for name in intake.file_names(report):
        _file_report(report, name)
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


def _run_load(validation: intake.Validation, uploads: Uploads, db: Path):
    """The load in the worker, its progress in a bar and a status box. Returns (result or None, failure text)."""
    bar = st.progress(0.0, text="取込を始めます")
    with st.status("取り込んでいます…", expanded=True) as status:
        def progress(report) -> None:
            status.write(md_escape(report.text))
            bar.progress(intake.progress_fraction(report), text=md_escape(report.text))
        failure, result = None, None
        access.log("load", uploads.names, "", "開始")
        try:
            result = intake.load_validated(validation, db, progress=progress, scope=allowed_prefectures())
        except LoadBusy as e:
            failure = f"{e}（データベースは変更していません）"
        except intake.WorkerFailed as e:
            failure = str(e)
        except Exception as e:  # noqa: BLE001 - the database is unchanged: a load writes a copy and swaps it in
            failure = f"取込に失敗しました（データベースは変更していません）: {e}"
        if failure:
            status.update(label="取り込めませんでした", state="error")
        else:
            bar.progress(1.0, text="完了")
            status.update(label="取り込みました", state="complete")
    return result, failure


def load_or_cancel(validation: intake.Validation, uploads: Uploads, db: Path) -> None:
    c1, c2 = st.columns(2)
    load_clicked = c1.button("有効な行を取り込む", key=KEY_LOAD, type="primary", disabled=not validation.can_load)
    if c2.button("取消", key=KEY_CANCEL):
        _forget_validation()
        st.session_state[STATE_FINISHED] = Finished(
            uploads.signature, ["取り消しました。データベースには何も書き込んでいません。"], loaded=False)
        st.rerun()
    if not load_clicked:
        return
    result, failure = _run_load(validation, uploads, db)
    if failure:       # outside the status box, which collapses: the reason stays in sight
        st.error(md_escape(failure))
    loaded = result is not None and result.loaded
    access.log("load", uploads.names, "", "取り込みました" if loaded else f"取り込めませんでした: {failure or '検証結果'}")
    if loaded:
        _forget_validation()
        st.session_state[STATE_FINISHED] = Finished(uploads.signature, intake.result_lines(result), loaded=True)
        st.rerun()
    elif result is not None:
        st.error("取り込めませんでした。検証結果を確認してください（データベースは変更していません）。")


def load_history(db: Path) -> None:
    st.subheader("取込履歴")
    history = intake.load_history(db)
    if history.empty:
        st.caption("まだ取込の記録がありません。")
        return
    st.dataframe(screen_dates(history, times=["日時"]), hide_index=True, key="intake_history")
    ui.csv_download(history, "取込履歴", "intake_history_csv")


def _undo_latest(db: Path) -> None:
    latest = intake.latest_change(db)
    if latest is None:
        st.caption("取り消せる変更はありません。")
        return
    st.text(f"直前の変更: {intake.versions.describe(latest)}")   # file names as plain text
    confirmed = st.checkbox("この変更を取り消し、その前の状態に戻すことを確認しました（この取消も履歴に残り、元に戻せます）",
                            key=f"{KEY_UNDO_CONFIRM}_{latest['id']}")
    if not st.button("直前の変更を取り消す", key=KEY_UNDO, disabled=not confirmed):
        return
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


def changes_and_undo(db: Path, restricted: bool) -> None:
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
        st.dataframe(screen_dates(changes, times=["日時"]), hide_index=True, key="intake_changes")
    if restricted:
        st.caption("閲覧範囲が限られているため、取消はできません（取消はすべての都道府県の記録に及びます）。")
    elif not access.role_allows("admin"):
        st.caption("取消は管理者だけが行えます。")
    else:
        _undo_latest(db)


def freshness(db: Path) -> None:
    st.subheader("データの鮮度と欠損")
    fresh_table, fresh_note = intake.freshness_table(db, allowed_prefectures())
    if fresh_table.empty:
        st.caption("記録がありません。")
        return
    st.dataframe(screen_dates(fresh_table, dates=["最新の記録日"], times=["最終取込"]), hide_index=True,
                 key="intake_freshness")
    st.caption(fresh_note)


def scope_notice() -> None:
    notice = intake.scope_notice(allowed_prefectures())
    if notice:
        st.info(notice)


def rejected_rows(db: Path) -> None:
    st.subheader("不合格の行")
    allowed = allowed_prefectures()
    if allowed is not None:
        st.caption(f"閲覧範囲（{md_escape('、'.join(allowed)) or 'なし'}）の行だけを示します"
                   "（都道府県のわからない行は示しません）。")
    loads = intake.loads_with_rejections(db, allowed)
    if not loads:
        st.caption("不合格の行のある取込はありません。")
        return
    labels = dict(loads)
    chosen = st.selectbox("取込", [lid for lid, _ in loads], format_func=labels.get, key=KEY_REJECTED_LOAD)
    if chosen not in labels:        # a forged choice of a load outside the list
        st.stop()
    frames = intake.rejected_frames(chosen, db, allowed)
    st.download_button("不合格の行をダウンロード（.xlsx、理由の列つき）",
                       access.audited("rejected_rows", labels[chosen], lambda f=frames, n=labels[chosen]:
                                      intake.rejected_xlsx(f, n)),
                       file_name=f"不合格の行_取込{chosen}.xlsx", mime=XLSX_MIME, key=KEY_REJECTED_DOWNLOAD)


def template() -> None:
    st.subheader("入力テンプレート")
    st.download_button("入力テンプレート（.xlsx）をダウンロード", intake.template_bytes(), file_name="入力テンプレート.xlsx",
                       mime=XLSX_MIME, key=KEY_TEMPLATE_DOWNLOAD)
