"""A load's scope: the prefectures a load may change (``None``: any). A regional steward's load carries their scope;
every staged row that would change a record outside it is rejected with a reason, like any other bad row (the table
``problems``), so it shows in the report and in the rejected rows, and ``--accept-valid`` loads the rest.

Where a record lies (the read side's rule, monitor/read/queries.py): engagements, consultations and events by their
own 都道府県; a session by its engagement's (this batch's loading row, else the stored one); a target by its
consortium's home prefecture (etl/sql/scope.sql). Unknown counts as outside (fail closed). A row is also rejected
when the stored record with its key lies outside (so a record cannot be moved into the scope and overwritten), and a
row marked 削除 is judged by the record it would remove.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .paths import REFERENCE_DIR, SQL_DIR

SCOPE_SQL = SQL_DIR / "scope.sql"
OWN_PLACE = ("engagements", "consultations", "events")       # kinds with a 都道府県 of their own
KEY = {"engagements": "engagement_id", "consultations": "consultation_id", "events": "event_id"}
KEY_LABEL = {"engagements": "案件ID", "consultations": "相談ID", "events": "イベントID"}


class ScopeRefused(Exception):
    """A scope that cannot be used (an unknown prefecture, a load that would replace every record); Japanese."""


def prefecture_names() -> tuple[str, ...]:
    with open(REFERENCE_DIR / "prefectures.csv", encoding="utf-8-sig", newline="") as f:
        return tuple(r["prefecture"] for r in csv.DictReader(f))


def parse_scope(text: str) -> tuple[str, ...]:
    """「茨城県,長野県」 (comma or 、) → the prefectures; ScopeRefused naming an unknown one."""
    names = tuple(dict.fromkeys(p.strip() for p in text.replace("、", ",").split(",") if p.strip()))
    if not names:
        raise ScopeRefused("--scope に都道府県を指定してください（例: --scope 茨城県,長野県）")
    known = set(prefecture_names())
    unknown = [p for p in names if p not in known]
    if unknown:
        raise ScopeRefused(f"--scope の「{'」「'.join(unknown)}」は都道府県一覧（data/reference/prefectures.csv）に"
                           "ない名前です（例: 茨城県、東京都。「県」「都」「府」まで書いてください）")
    return names


def scope_text(scope: tuple[str, ...]) -> str:
    return "、".join(scope)


def _not_withdrawn(kind: str, alias: str = "s") -> str:
    return f"({alias}._src, {alias}._row) NOT IN (SELECT (_src, _row) FROM withdrawn WHERE kind = '{kind}')"


def _not_rejected(kind: str, alias: str = "e") -> str:
    return (f"({alias}._src, {alias}._row) NOT IN (SELECT (_src, _row) FROM problems "
            f"WHERE kind = '{kind}' AND severity = 'error')")


def stored_places(con, kinds: list[str], db: Path, keeps_existing: bool, rows: str = "true") -> None:
    """scope_stored_<kind> (key, prefecture) of the stored records the batch's rows name (those where ``rows``, a
    condition on the staged row ``s``, holds); empty when the load keeps no stored records."""
    attached = keeps_existing and Path(db).exists()
    if attached:
        con.execute("ATTACH ? AS cur_scope (READ_ONLY)", [str(db)])
    try:
        for name in OWN_PLACE:
            key = KEY[name]
            names = [f"SELECT s.{key} FROM stg_{name} s WHERE {rows.format(kind=name)}"]
            if name == "engagements" and "sessions" in kinds:
                names.append(f"SELECT s.engagement_id FROM stg_sessions s WHERE {rows.format(kind='sessions')}")
            source = (f"SELECT {key}, prefecture FROM cur_scope.main.{name} WHERE {key} IN ({' UNION '.join(names)})"
                      if attached else f"SELECT NULL::VARCHAR AS {key}, NULL::VARCHAR AS prefecture WHERE false")
            con.execute(f"CREATE OR REPLACE TEMP TABLE scope_stored_{name} AS {source}")
    finally:
        if attached:
            con.execute("DETACH cur_scope")


def _session_parents(rows: str) -> str:
    """SQL: per staged session (where ``rows``), its engagement's prefecture: this batch's loading row (not rejected,
    not 削除), else the stored one, else a rejected row of this batch (the session cannot load then, but its reason
    names the prefecture); ``known`` whether any exists, ``stored_pref`` the stored one."""
    return f"""
        WITH batch AS (
            SELECT e.engagement_id, min(e.prefecture) AS prefecture, bool_or({_not_rejected('engagements')}) AS loads
            FROM stg_engagements e WHERE {_not_withdrawn('engagements', 'e')}
            GROUP BY e.engagement_id)
        SELECT s._src, s._row, s.engagement_id,
               b.engagement_id IS NOT NULL OR t.engagement_id IS NOT NULL AS known,
               CASE WHEN b.loads THEN b.prefecture WHEN t.engagement_id IS NOT NULL THEN t.prefecture
                    ELSE b.prefecture END AS prefecture,
               t.engagement_id IS NOT NULL AS has_stored, t.prefecture AS stored_pref
        FROM stg_sessions s
        LEFT JOIN batch b ON b.engagement_id = s.engagement_id
        LEFT JOIN scope_stored_engagements t ON t.engagement_id = s.engagement_id
        WHERE {rows.format(kind='sessions')}"""


def check_rows(con, kinds: list[str], scope: tuple[str, ...], db: Path, keeps_existing: bool) -> None:
    """Under a scope, after validation (and the 削除 marks): an error in ``problems`` for each staged row that would
    change a record outside ``scope``. Engagements first: a session's engagement counts only if it loads."""
    con.execute(SCOPE_SQL.read_text(encoding="utf-8"))
    stored_places(con, kinds, db, keeps_existing)
    params = {"scope": list(scope), "scope_text": scope_text(scope)}
    outside = "'』はこの取込の範囲（' || $scope_text || '）の外です'"
    unsure = "この取込の範囲（' || $scope_text || '）の中か確かめられません"
    for name in kinds:
        if name in OWN_PLACE:
            key, label = KEY[name], KEY_LABEL[name]
            con.execute(f"""INSERT INTO problems
                SELECT '{name}', s._src, s._row, '都道府県', s.prefecture_text,
                       CASE WHEN s.prefecture IS NULL
                            THEN '都道府県がわからないため、{unsure}（範囲を限った取込では都道府県が必要です）'
                            ELSE '都道府県『' || s.prefecture || {outside} END, 'error'
                FROM stg_{name} s
                WHERE NOT dx_in_scope(s.prefecture, $scope) AND {_not_withdrawn(name)}
                UNION ALL
                SELECT '{name}', s._src, s._row, '{label}', s.{key},
                       '取込済みの同じ{label}の記録は都道府県『' || coalesce(t.prefecture, '不明')
                       || '』で、この取込の範囲（' || $scope_text || '）の外です（範囲外の記録は変更も削除もできません）',
                       'error'
                FROM stg_{name} s JOIN scope_stored_{name} t ON t.{key} = s.{key}
                WHERE NOT dx_in_scope(t.prefecture, $scope)""", params)
        elif name == "sessions":
            con.execute(f"""INSERT INTO problems
                SELECT 'sessions', p._src, p._row, '案件ID', p.engagement_id,
                       CASE WHEN NOT p.known
                            THEN '案件ID「' || coalesce(p.engagement_id, '') || '」の支援案件がないため、{unsure}'
                            WHEN NOT dx_in_scope(p.prefecture, $scope)
                            THEN '案件ID「' || p.engagement_id || '」の支援案件の都道府県『' || coalesce(p.prefecture, '不明')
                                 || {outside}
                            ELSE '案件ID「' || p.engagement_id || '」の取込済みの支援案件の都道府県『'
                                 || coalesce(p.stored_pref, '不明') || {outside} END, 'error'
                FROM ({_session_parents('true')}) p
                WHERE NOT dx_in_scope(p.prefecture, $scope)
                   OR (p.has_stored AND NOT dx_in_scope(p.stored_pref, $scope))""", params)
        elif name == "targets":
            con.execute(f"""INSERT INTO problems
                SELECT 'targets', s._src, s._row, 'コンソーシアム', s.consortium,
                       CASE WHEN s.consortium = ''
                            THEN '事業全体（コンソーシアムが空欄）の目標値はすべての都道府県に及ぶため、範囲（'
                                 || $scope_text || '）を限った取込では変更できません'
                            WHEN dx_consortium_home(s.consortium) IS NULL
                            THEN 'コンソーシアム『' || s.consortium || '』はコンソーシアム一覧（data/reference/consortia.csv）'
                                 || 'になく本拠の都道府県がわからないため、{unsure}'
                            ELSE 'コンソーシアム『' || s.consortium || '』の本拠の都道府県『'
                                 || dx_consortium_home(s.consortium) || {outside} END, 'error'
                FROM stg_targets s
                WHERE NOT dx_in_scope(dx_consortium_home(s.consortium), $scope)""", params)


def rejected_places(con, kinds: list[str], db: Path, keeps_existing: bool, scoped: bool) -> None:
    """rejected_places (kind, _src, _row, prefecture): the one prefecture each rejected row would change, stored with
    it in rejected_rows so that a scoped reader sees only their own; NULL when it is unknown or the row touches two
    (its own prefecture and its stored record's differ)."""
    con.execute(SCOPE_SQL.read_text(encoding="utf-8"))
    empty = ("SELECT NULL::VARCHAR AS kind, NULL::INTEGER AS _src, NULL::INTEGER AS _row, "
             "NULL::VARCHAR AS prefecture WHERE false")
    if not con.execute("SELECT count(*) FROM rejected").fetchall()[0][0]:
        con.execute(f"CREATE OR REPLACE TEMP TABLE rejected_places AS {empty}")
        return
    rows = "(s._src, s._row) IN (SELECT (_src, _row) FROM rejected WHERE kind = '{kind}')"
    if not scoped:      # under a scope check_rows made them for every row already
        stored_places(con, kinds, db, keeps_existing, rows)
    parts = [empty]
    for name in kinds:
        if name in OWN_PLACE:
            key = KEY[name]
            parts.append(f"""SELECT '{name}', s._src, s._row,
                    CASE WHEN t.{key} IS NULL OR t.prefecture = s.prefecture THEN s.prefecture END
                FROM stg_{name} s LEFT JOIN (SELECT DISTINCT * FROM scope_stored_{name}) t ON t.{key} = s.{key}
                WHERE {rows.format(kind=name)}""")
        elif name == "sessions":
            parts.append(f"""SELECT 'sessions', p._src, p._row,
                    CASE WHEN NOT p.has_stored OR p.stored_pref = p.prefecture THEN p.prefecture END
                FROM ({_session_parents(rows)}) p""")
        elif name == "targets":
            parts.append(f"SELECT 'targets', s._src, s._row, dx_consortium_home(s.consortium) FROM stg_targets s "
                         f"WHERE {rows.format(kind=name)}")
    con.execute("CREATE OR REPLACE TEMP TABLE rejected_places AS " + " UNION ALL ".join(parts))


def recheck_in_target(con, kinds: list[str], scope: tuple[str, ...]) -> None:
    """Inside the load, under the writer lock, on the copy being written (``target``): no row that is about to be
    written or withdrawn names a stored record outside ``scope``. Preparation ran before the lock; another load in
    between may have moved a record out of the scope. Raises ScopeRefused (the copy is then thrown away)."""
    keep = "(s._src, s._row) NOT IN (SELECT (_src, _row) FROM rejected WHERE kind = '{kind}')"
    checks = [f"""SELECT count(*) FROM target.main.{name} t WHERE NOT dx_in_scope(t.prefecture, $scope)
                  AND t.{KEY[name]} IN (SELECT s.{KEY[name]} FROM stg_{name} s WHERE {keep.format(kind=name)})"""
              for name in kinds if name in OWN_PLACE]
    if "sessions" in kinds:
        checks.append(f"""SELECT count(*) FROM target.main.engagements t WHERE NOT dx_in_scope(t.prefecture, $scope)
                          AND t.engagement_id IN (SELECT s.engagement_id FROM stg_sessions s
                                                  WHERE {keep.format(kind='sessions')})""")
    for sql in checks:
        if con.execute(sql, {"scope": list(scope)}).fetchall()[0][0]:
            raise ScopeRefused("検証の後に、範囲（" + scope_text(scope) + "）の外の記録が別の取込で変わりました。"
                               "もう一度検証してから取り込んでください（何も変更していません）")
