"""データ取込: upload record files → validation report per file → load the valid rows or cancel → result (a scoped
session loads within its scope: etl/scope.py rejects the rows outside);
below, the load history, the rejected rows as .xlsx and the input template. The only page that writes, and only
through etl.load (a copy of the database swapped in atomically). Logic: monitor/intake.py; drawing:
monitor/render/intake.py."""
import streamlit as st

from monitor import access, intake, ui
from monitor.read.db import resolve_path
from monitor.read.filters import allowed_prefectures
from monitor.render import intake as render

ui.page_setup("データ取込")
access.require_role("steward", "データ取込")      # viewers: refused (monitor/access.py), with an audit row
intake.sweep_once()
db = resolve_path()
render.header(db)
render.scope_notice()        # a restricted session loads within its scope (etl/scope.py rejects the rows outside)

uploads = render.upload_inputs()
render.forget_stale_validation(uploads.signature)
done = render.finished(uploads.signature)
if done is not None:
    done.show()
elif uploads.signature is not None:
    validation = render.validation_for(uploads, db)
    if validation is None:
        st.stop()
    render.validation_report(validation)
    render.load_or_cancel(validation, uploads, db)
else:
    st.info("取り込む記録ファイルを選んでください。列名・書き方は下の入力テンプレートを参考にしてください。")

st.divider()
render.load_history(db)
render.changes_and_undo(db, allowed_prefectures() is not None)
render.freshness(db)
render.rejected_rows(db)
render.template()
