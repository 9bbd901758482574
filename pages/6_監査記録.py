"""監査記録: who did what and when (sign-in, refusals, exports, PDF, validation, loads, undo, grant checks), from the
audit file outside the database (etl/audit.py). Administrators only; filter by person, action and dates; CSV."""
import datetime as dt

import pandas as pd
import streamlit as st

from etl import audit
from monitor import access, ui
from monitor.read.db import meta
from monitor.format import fmt_date, screen_dates
from monitor.plain import md_escape
from monitor.print_layout import apply_print_layout
from monitor.read.queries import data_as_of

ui.page_setup("監査記録")
access.require_role("admin", "監査記録")
source = (f"記録の場所: {audit.audit_path()}（取込で置き換わるデータベースとは別のファイル。追記のみ）　｜　"
          f"ダッシュボードのデータ基準日: {fmt_date(data_as_of())}" + ("　｜　サンプルデータ" if meta()["is_sample"] else ""))
if not apply_print_layout("監査記録", source):     # print: the same facts in the print header (the page has no title)
    st.caption(md_escape(source))

c1, c2, c3, c4 = st.columns(4)
who = c1.text_input("誰が（メールアドレスの一部）", key="audit_who")
labels = {"": "すべて", **audit.ACTIONS}
action = c2.selectbox("操作", list(labels), format_func=labels.get, key="audit_action")
since = c3.date_input("から", value=None, key="audit_since")
until = c4.date_input("まで", value=None, key="audit_until")
rows = audit.read(who=who.strip() or None, action=action or None,
                  since=since if isinstance(since, dt.date) else None,
                  until=until if isinstance(until, dt.date) else None)
if not rows:
    ui.empty_state("該当する監査記録はありません。")
else:
    df = pd.DataFrame(rows, columns=list(audit.COLUMNS))
    df["action"] = df["action"].map(lambda a: audit.ACTIONS.get(a, a))
    df = df.rename(columns=audit.COLUMN_LABELS)
    st.caption(f"{len(df):,} 件（新しい順、最大 10,000 件）")
    st.dataframe(screen_dates(df, times=["日時（UTC）"]), hide_index=True, key="audit_table")
    ui.csv_download(df, "監査記録", "audit_csv")
