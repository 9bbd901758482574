"""Withdraw records loaded by mistake: `python -m etl withdraw --kind KIND --id ID…`, or a 削除 column in a record
file (rows marked there are removed instead of loaded).

Either way the write goes through etl.write._new_version (a copy, swapped in atomically; the replaced file kept and
the change logged in etl.versions, so it can be undone) and the marts are rebuilt as after a load.

Sessions of a withdrawn engagement are never left pointing at nothing: the verb refuses unless --with-sessions
(then they go with it, and the message counts them); in a file, an engagement marked 削除 whose sessions are not
marked too is rejected with a message saying how to do it.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from . import versions
from .as_of import set_data_as_of
from .dbfile import check_readable
from .kinds import KINDS, LOAD_ORDER
from .macros import install_macros
from .marts import build_marts
from .swap import _new_version, _stage_hook, writer_lock

# how an id is written on the command line, and how each part is typed (the loader's macros, so the keys match)
ID_FORMAT = {"engagements": "案件ID", "sessions": "案件ID:回", "consultations": "相談ID", "events": "イベントID",
             "targets": "年度:コンソーシアム:指標"}
KEY_TYPES = {
    "engagements": ("dx_text(p1)",),
    "sessions": ("dx_text(p1)", "CAST(dx_int(p2) AS INTEGER)"),
    "consultations": ("dx_text(p1)",),
    "events": ("dx_text(p1)",),
    "targets": ("dx_fiscal_year(p1)", "coalesce(dx_text(p2), '')", "dx_text(p3)"),
}
# columns a row marked 削除 still needs: those of its key (a consultation without 相談ID is keyed by these four)
KEY_LABELS = {name: {KINDS[name].column(k).label for k in KINDS[name].key} for name in LOAD_ORDER}
KEY_LABELS["consultations"] |= {"相談日", "相談元", "部署", "枠"}


def split_id(kind: str, text: str) -> tuple[str, ...] | None:
    parts = len(KEY_TYPES[kind])
    if parts == 1:
        return (text,)
    if kind == "sessions":
        head, sep, tail = text.rpartition(":")
        return (head, tail) if sep else None
    first, sep1, rest = text.partition(":")      # targets: 年度:コンソーシアム:指標 (コンソーシアム may be blank)
    middle, sep2, last = rest.rpartition(":")
    return (first, middle, last) if sep1 and sep2 else None


def _typed_ids(con, kind: str, ids: list[str]) -> tuple[list[tuple], list[str]]:
    """(typed keys in the given order, ids that cannot be read)."""
    bad, rows = [], []
    for text in ids:
        parts = split_id(kind, text.strip())
        if parts is None:
            bad.append(text)
            continue
        cols = ", ".join(f"?::VARCHAR AS p{i + 1}" for i in range(len(parts)))
        typed = con.execute(f"SELECT {', '.join(KEY_TYPES[kind])} FROM (SELECT {cols})", list(parts)).fetchall()[0]
        if any(v is None or v == "" for i, v in enumerate(typed) if not (kind == "targets" and i == 1)):
            bad.append(text)
        else:
            rows.append(typed)
    return rows, bad


def _key_sql(kind: str, alias: str) -> str:
    return "(" + ", ".join(f'{alias}."{k}"' for k in KINDS[kind].key) + ")"


def withdraw(db: Path, kind: str, ids: list[str], with_sessions: bool = False, who: str | None = None) -> dict:
    """Remove the records of ``kind`` named by ``ids`` (as ID_FORMAT) from ``db``, atomically, and rebuild the marts.
    Nothing is written when an id cannot be read or is not stored, or (engagements) when sessions would be left
    behind without ``with_sessions``. Returns the history entry, with ``removed`` (rows per kind). Raises
    versions.Refused, etl.load.LoadBusy, etl.load.DatabaseUnreadable."""
    db = Path(db)
    if kind not in KINDS:
        raise versions.Refused(f"記録の種類「{kind}」はありません（{', '.join(LOAD_ORDER)} のいずれか）")
    if not ids:
        raise versions.Refused("取り下げる記録の ID を --id で指定してください")
    if not db.exists():
        raise FileNotFoundError(f"データベースがありません: {db}")
    check_readable(db)
    label = KINDS[kind].label
    with writer_lock(db):
        con = duckdb.connect()
        try:
            install_macros(con)
            keys, bad = _typed_ids(con, kind, ids)
            keys = list(dict.fromkeys(keys))
            if bad:
                raise versions.Refused(f"{label}の ID として読めません: {'、'.join(bad)}"
                                       f"（書き方: {ID_FORMAT[kind]}）。何も変更していません")
            con.execute("ATTACH ? AS cur (READ_ONLY)", [str(db)])
            key_cols = ", ".join(f'k{i}' for i in range(len(KINDS[kind].key)))
            con.execute(f"CREATE TEMP TABLE wanted ({', '.join(f'k{i} ' + t for i, t in enumerate(_key_types(kind)))})")
            con.executemany(f"INSERT INTO wanted VALUES ({', '.join('?' for _ in keys[0])})", keys)
            missing = con.execute(f"""SELECT {key_cols} FROM wanted w WHERE ({key_cols}) NOT IN
                                      (SELECT {_key_sql(kind, 't')} FROM cur.main.{kind} t)""").fetchall()
            if missing:
                shown = "、".join(":".join("" if v is None else str(v) for v in m) for m in missing)
                raise versions.Refused(f"{label}に見つかりません: {shown}。何も変更していません")
            sessions = 0
            if kind == "engagements":
                sessions = con.execute("SELECT count(*) FROM cur.main.sessions WHERE engagement_id IN "
                                       "(SELECT k0 FROM wanted)").fetchall()[0][0]
                if sessions and not with_sessions:
                    raise versions.Refused(
                        f"取り下げる支援案件に伴走記録が {sessions:,} 件あります。伴走記録も一緒に取り下げるには "
                        "--with-sessions を付けてください（何も変更していません）")
            con.execute("DETACH cur")
        finally:
            con.close()
        entry = versions.new_entry("withdraw", who, kind=kind, ids=[i.strip() for i in ids], files=[],
                                   with_sessions=bool(with_sessions))
        removed = {kind: len(keys)} | ({"sessions": sessions} if sessions else {})
        with _new_version(db, copy=True, entry=entry) as tmp:
            con = duckdb.connect(str(tmp))
            try:
                install_macros(con)
                con.execute(f"CREATE TEMP TABLE wanted ({', '.join(f'k{i} ' + t for i, t in enumerate(_key_types(kind)))})")
                con.executemany(f"INSERT INTO wanted VALUES ({', '.join('?' for _ in keys[0])})", keys)
                if kind == "engagements" and with_sessions:
                    con.execute("DELETE FROM sessions WHERE engagement_id IN (SELECT k0 FROM wanted)")
                con.execute(f"DELETE FROM {kind} t WHERE {_key_sql(kind, 't')} IN (SELECT ({key_cols}) FROM wanted)")
                set_data_as_of(con)
                build_marts(con)
                con.execute("CHECKPOINT")
            finally:
                con.close()
        _stage_hook("replaced")
    entry["removed"] = removed
    return entry


def _key_types(kind: str) -> list[str]:
    return {"engagements": ["VARCHAR"], "sessions": ["VARCHAR", "INTEGER"], "consultations": ["VARCHAR"],
            "events": ["VARCHAR"], "targets": ["INTEGER", "VARCHAR", "VARCHAR"]}[kind]


def result_line(entry: dict) -> str:
    removed = entry.get("removed", {})
    parts = [f"{KINDS[k].label} {n:,} 件" for k, n in removed.items()]
    extra = "（支援案件の伴走記録も一緒に取り下げました）" if removed.get("sessions") else ""
    return (f"取り下げました: {'、'.join(parts)}{extra}。"
            f"元に戻すには python -m etl undo {entry['id']}")


# ── the 削除 column in record files (called by etl.prepare.Batch) ──────────────────

WITHDRAW_VALUE_REASON = "「削除」は有/無、○/×、はい/いいえ、TRUE/FALSE、1/0 のいずれかで指定してください"


def mark_rows(con, kinds: list[str], db: Path, keeps_existing: bool) -> list[str]:
    """After validation, in the batch's connection: the rows marked 削除 go into the temp table ``withdrawn``
    (kind, _src, _row); the problems they raised about columns they do not need are dropped (such a row needs only
    its key); a 削除 value that is not a boolean is an error; an engagement marked 削除 whose sessions would stay is
    an error. Returns notes for the report."""
    parts = [f"SELECT '{k}' AS kind, _src, _row FROM raw_{k} WHERE dx_bool(withdraw) IS TRUE" for k in kinds]
    con.execute("CREATE OR REPLACE TEMP TABLE withdrawn AS "
                + (" UNION ALL ".join(parts) if parts
                   else "SELECT NULL::VARCHAR AS kind, NULL::INTEGER AS _src, NULL::INTEGER AS _row WHERE false"))
    for k in kinds:
        con.execute(f"""INSERT INTO problems SELECT '{k}', _src, _row, '削除', withdraw, ?, 'error' FROM raw_{k}
                        WHERE withdraw IS NOT NULL AND trim(withdraw) <> '' AND dx_bool(withdraw) IS NULL""",
                    [WITHDRAW_VALUE_REASON])
    if not con.execute("SELECT count(*) FROM withdrawn").fetchall()[0][0]:
        return []
    for k in kinds:
        con.execute("""DELETE FROM problems p USING withdrawn w
                       WHERE p.kind = ? AND w.kind = p.kind AND w._src = p._src AND w._row = p._row
                         AND (NOT list_contains(?, p.column_name) OR p.reason LIKE '%の支援案件がありません%')""",
                    [k, sorted(KEY_LABELS[k])])
    if "engagements" in kinds:
        stored = "SELECT NULL::VARCHAR AS engagement_id, NULL::INTEGER AS session_no WHERE false"
        if keeps_existing:
            con.execute("ATTACH ? AS cur_w (READ_ONLY)", [str(db)])
            con.execute("CREATE OR REPLACE TEMP TABLE stored_sessions AS SELECT engagement_id, session_no "
                        "FROM cur_w.main.sessions WHERE engagement_id IN (SELECT s.engagement_id FROM stg_engagements s "
                        "JOIN withdrawn w ON w.kind = 'engagements' AND w._src = s._src AND w._row = s._row)")
            con.execute("DETACH cur_w")
            stored = "SELECT engagement_id, session_no FROM stored_sessions"
        batch_sessions = ("SELECT engagement_id, session_no, (_src, _row) IN (SELECT (_src, _row) FROM withdrawn "
                          "WHERE kind = 'sessions') AS marked FROM stg_sessions") if "sessions" in kinds else \
            "SELECT NULL::VARCHAR AS engagement_id, NULL::INTEGER AS session_no, false AS marked WHERE false"
        con.execute(f"""INSERT INTO problems
            WITH batch AS ({batch_sessions}),
            staying AS (  -- stored sessions not marked in this batch, and unmarked sessions of the batch
                SELECT engagement_id, session_no FROM ({stored}) st
                WHERE (engagement_id, session_no) NOT IN (SELECT (engagement_id, session_no) FROM batch WHERE marked)
                UNION SELECT engagement_id, session_no FROM batch WHERE NOT marked)
            SELECT 'engagements', e._src, e._row, '削除', e.engagement_id,
                   '支援案件「' || e.engagement_id || '」には伴走記録が ' || count(*) || ' 件あります。伴走記録も取り下げるには'
                   || 'その行にも「削除」の印を付けるか、python -m etl withdraw --kind engagements --id '
                   || e.engagement_id || ' --with-sessions を使ってください', 'error'
            FROM stg_engagements e JOIN withdrawn w ON w.kind = 'engagements' AND w._src = e._src AND w._row = e._row
            JOIN staying s ON s.engagement_id = e.engagement_id
            GROUP BY e._src, e._row, e.engagement_id""")
    counts = con.execute("SELECT kind, count(*) FROM withdrawn GROUP BY kind").fetchall()
    by_kind = dict(counts)
    return [f"{KINDS[k].label}: 「削除」の印のある {by_kind[k]:,} 行は取り込まず、取込済みの同じキーの記録を取り下げます"
            for k in LOAD_ORDER if k in by_kind]
