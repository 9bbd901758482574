"""Validate: staged rows → problems (errors reject a row; warnings only inform).

Checks are generated from the kind spec in kinds.py (required, parseable, allowed values, places) plus
checks across rows (duplicate keys, sessions naming a known engagement). All run as SQL over whole
tables; identifiers come from kinds.py, values are never pasted into SQL.
"""
from __future__ import annotations

import duckdb

from .kinds import KINDS, Kind

TYPE_REASON = {
    "int": "整数として読めません",
    "number": "数値として読めません",
    "date": "日付として読めません（例: 2022-10-05、2022/10/5、R4.10.5、令和4年10月5日）",
    "fiscal_year": "年度として読めません（例: 2022、R4、令和4年度、2022年度）",
    "minutes": "時間として読めません（例: 120（分）、2時間、1時間30分、1.5h）",
    "bool": "有無として読めません（有/無、あり/なし、○/×、はい/いいえ、TRUE/FALSE、1/0）",
}
# staged column that holds the parsed value of a raw column, where the names differ
STAGED_NAME = {
    ("engagements", "planned_sessions"): "planned_sessions_given",
    ("sessions", "stage"): None, ("sessions", "themes"): None, ("sessions", "coordinators"): None,
    ("consultations", "consultation_id"): None, ("consultations", "theme"): None,
    # 削除 is not staged; etl/withdraw.py checks it
    **{(k, "withdraw"): None for k in ("engagements", "sessions", "consultations", "events", "targets")},
}

PROBLEMS_DDL = """
CREATE OR REPLACE TEMP TABLE problems (
    kind VARCHAR, _src INTEGER, _row INTEGER, column_name VARCHAR, value VARCHAR,
    reason VARCHAR, severity VARCHAR)
"""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


RAW = "raw__"   # prefix of the raw (text) columns in the per-kind check table


def _checks_for(kind: Kind) -> list[tuple[str, str]]:
    """(condition, SELECT) pairs: the SELECT yields (kind, _src, _row, column_name, value, reason, severity) from the
    check table `s` (the staged row plus its raw text columns, prefixed raw__) for the rows where condition holds.
    All conditions are evaluated in one pass over raw ⋈ staged (`_check_rows`); the SELECTs then run on the few
    rows that fail some condition."""
    out = []
    # blank = NULL or only spaces; a value starting with a printable ASCII character is not blank (no trim() needed)
    blank = "({r} IS NULL OR (NOT (ascii({r}) BETWEEN 33 AND 126) AND trim({r}) = ''))"
    for col in kind.columns:
        r = f"s.{q(RAW + col.name)}"
        label = col.label.replace("'", "''")
        if col.required:
            cond = blank.format(r=r)
            out.append((cond, f"""SELECT '{kind.name}', s._src, s._row, '{label}', {r},
                '必須項目「{label}」が空です', 'error' FROM {{chk}} s WHERE {cond}"""))
        staged = STAGED_NAME.get((kind.name, col.name), col.name)
        if col.type in TYPE_REASON and staged:
            cond = f"NOT {blank.format(r=r)} AND s.{q(staged)} IS NULL"
            out.append((cond, f"""SELECT '{kind.name}', s._src, s._row, '{label}', {r},
                '{TYPE_REASON[col.type]}', 'error' FROM {{chk}} s WHERE {cond}"""))
        if col.choices:
            allowed = "、".join(col.choices)
            cond = (f"s.{q(col.name)} IS NOT NULL "
                    f"AND NOT list_contains({list(col.choices)!r}::VARCHAR[], s.{q(col.name)})")
            out.append((cond, f"""SELECT '{kind.name}', s._src, s._row, '{label}', s.{q(col.name)},
                '「{label}」は {allowed} のいずれかで指定してください', 'error' FROM {{chk}} s WHERE {cond}"""))
        if col.type == "prefecture":
            cond = "s.prefecture_text IS NOT NULL AND s.prefecture_code IS NULL"
            out.append((cond, f"""SELECT '{kind.name}', s._src, s._row, '{label}', s.prefecture_text,
                '都道府県名として認識できません（例: 茨城県）', 'error' FROM {{chk}} s WHERE {cond}"""))
        if col.type == "municipality":
            cond = "s.municipality_text IS NOT NULL AND (s.municipality_code IS NULL OR s.prefecture_mismatch)"
            out.append((cond, f"""SELECT '{kind.name}', s._src, s._row, '{label}', s.municipality_text,
                CASE WHEN s.prefecture_mismatch THEN '市区町村コードが都道府県「' || s.prefecture_text || '」と一致しません'
                     WHEN s.prefecture_code IS NULL AND (SELECT count(*) FROM municipalities m
                                                         WHERE m.municipality = s.municipality_text) > 1
                     THEN '同じ名前の市区町村が複数あります（' || (
                              SELECT string_agg(m.prefecture || m.municipality, '、' ORDER BY m.municipality_code)
                              FROM municipalities m WHERE m.municipality = s.municipality_text)
                          || '）。都道府県を書くか、市区町村コードで指定してください'
                     ELSE '市区町村を特定できません' ||
                          coalesce('（近い名前: ' || (
                              SELECT string_agg(m.prefecture || m.municipality, '、' ORDER BY sim DESC)
                              FROM (SELECT m.*, jaro_winkler_similarity(m.municipality, s.municipality_text) AS sim
                                    FROM municipalities m
                                    WHERE s.prefecture_code IS NULL OR m.prefecture_code = s.prefecture_code
                                    ORDER BY sim DESC LIMIT 3) m) || '）', '')
                END, 'error'
                FROM {{chk}} s WHERE {cond}"""))
    return out


def _check_rows(con: duckdb.DuckDBPyConnection, kind: Kind) -> None:
    """Generic checks of one kind into `problems`: one join of raw and staged rows keeps only the rows that fail a
    condition (usually none), and the per-check SELECTs run on those."""
    checks = _checks_for(kind)
    if not checks:
        return
    chk = f"chk_{kind.name}"
    raw_cols = ", ".join(f"r.{q(c.name)} AS {q(RAW + c.name)}" for c in kind.columns)
    joined = f"""(SELECT s.*, {raw_cols}
                  FROM raw_{kind.name} r JOIN stg_{kind.name} s USING (_src, _row)) s"""
    # first only the keys of failing rows: the optimizer keeps just the columns the conditions read, so the join
    # moves a few narrow columns instead of whole rows
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {chk}_keys AS SELECT _src, _row FROM {joined}
        WHERE {" OR ".join(f"({cond})" for cond, _ in checks)}""")
    if con.execute(f"SELECT count(*) FROM {chk}_keys").fetchall()[0][0]:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {chk} AS
            SELECT * FROM {joined} WHERE (_src, _row) IN (SELECT (_src, _row) FROM {chk}_keys)""")
        con.execute("INSERT INTO problems " + "\nUNION ALL\n".join(sql.format(chk=chk) for _, sql in checks))
        con.execute(f"DROP TABLE {chk}")
    con.execute(f"DROP TABLE {chk}_keys")


KIND_CHECKS = {
    "engagements": ["""SELECT 'engagements', s._src, s._row, '終了日', CAST(s.end_date AS VARCHAR),
        '終了日が開始日より前です', 'error' FROM stg_engagements s WHERE s.end_date < s.start_date""",
                    """SELECT 'engagements', s._src, s._row, '予定回数', CAST(s.planned_sessions AS VARCHAR),
        '予定回数は1以上で指定してください', 'error' FROM stg_engagements s WHERE s.planned_sessions < 1"""],
    "sessions": ["""SELECT 'sessions', s._src, s._row, '回', CAST(s.session_no AS VARCHAR),
        '回は1以上の整数で指定してください', 'error' FROM stg_sessions s WHERE s.session_no < 1""",
                 """SELECT 'sessions', s._src, s._row, 'フェーズ', s.stage_original,
        'フェーズが7つの段階のどれにも当てはまりません（原文のまま保存します）', 'warning'
        FROM stg_sessions s WHERE s.stage_original IS NOT NULL AND s.stage_no IS NULL""",
                 """SELECT 'sessions', s._src, s._row, 'テーマ', array_to_string(s.unmapped_themes, '、'),
        'テーマ分類に当てはまらない語があります（原文のまま保存します）', 'warning'
        FROM stg_sessions s WHERE len(s.unmapped_themes) > 0"""],
    "consultations": ["""SELECT 'consultations', s._src, s._row, '相談テーマ', s.theme_original,
        '相談テーマがテーマ分類に当てはまりません（原文のまま保存します）', 'warning'
        FROM stg_consultations s WHERE s.theme_original IS NOT NULL AND s.theme IS NULL"""],
}


def _key_checks(con: duckdb.DuckDBPyConnection, kind: Kind, stored: list[str], sources: dict[int, str]) -> None:
    """Same key twice in one batch: identical rows load once (warning); different rows are both rejected."""
    key = ", ".join(q(k) for k in kind.key)
    content = ", ".join(q(c) for c in stored)
    not_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in kind.key)
    # keys that occur more than once (usually none): only their rows are hashed and compared
    con.execute(f"""CREATE OR REPLACE TEMP TABLE dup_keys_{kind.name} AS
        SELECT {key} FROM stg_{kind.name} WHERE {not_null} GROUP BY {key} HAVING count(*) > 1""")
    if not con.execute(f"SELECT count(*) FROM dup_keys_{kind.name}").fetchall()[0][0]:
        con.execute(f"DROP TABLE dup_keys_{kind.name}")
        return
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE dup_{kind.name} AS
        WITH keyed AS (
            SELECT _src, _row, {key}, md5(CAST(row({content}) AS VARCHAR)) AS content_hash
            FROM stg_{kind.name}
            WHERE {not_null} AND ({key}) IN (SELECT ({key}) FROM dup_keys_{kind.name})
        )
        SELECT *, count(*) OVER w AS copies, count(DISTINCT content_hash) OVER w AS versions,
               row_number() OVER (PARTITION BY {key}, content_hash ORDER BY _src, _row) AS copy_no,
               string_agg(_src || ':' || _row, ',') OVER w AS places
        FROM keyed
        WINDOW w AS (PARTITION BY {key})
        QUALIFY count(*) OVER w > 1
    """)
    # reasons name the other rows; file names are looked up from the source list in Python
    rows = con.execute(f"SELECT _src, _row, versions, copy_no, places, {key} FROM dup_{kind.name}").fetchall()
    problems = []
    key_label = "・".join(kind.column(k).label for k in kind.key)
    for src, row, versions, copy_no, places, *key_values in rows:
        others = [p for p in places.split(",") if p != f"{src}:{row}"]
        where = "、".join(f"{sources[int(s)]} {r}行目" for s, r in (p.split(":") for p in others[:5]))
        key_text = "・".join(str(v) for v in key_values)
        if versions > 1:
            problems.append((kind.name, src, row, key_label, key_text,
                             f"同じキー（{key_text}）で内容の異なる行が同じ取込にあります: {where}", "error"))
        elif copy_no > 1:
            problems.append((kind.name, src, row, key_label, key_text,
                             f"同じ内容の行の重複です（{where}）。1件として取り込みます", "duplicate"))
    if problems:
        con.executemany("INSERT INTO problems VALUES (?, ?, ?, ?, ?, ?, ?)", problems)


def validate(con: duckdb.DuckDBPyConnection, kinds_present: list[str], stored_columns: dict[str, list[str]],
             sources: dict[int, str]) -> None:
    """Fills the temp table `problems`. Needs raw_<kind>, stg_<kind> and `known_engagements`."""
    con.execute(PROBLEMS_DDL)
    for name in kinds_present:
        kind = KINDS[name]
        _check_rows(con, kind)
        if KIND_CHECKS.get(name):
            con.execute("INSERT INTO problems " + "\nUNION ALL\n".join(KIND_CHECKS[name]))
        _key_checks(con, kind, stored_columns[name], sources)
    engagement_rows = "stg_engagements" if "engagements" in kinds_present else \
        "(SELECT NULL::INTEGER AS _src, NULL::INTEGER AS _row, NULL::VARCHAR AS engagement_id WHERE false)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE valid_engagement_ids AS
        SELECT engagement_id FROM {engagement_rows} e
        WHERE engagement_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM problems p WHERE p.kind = 'engagements' AND p.severity = 'error'
              AND p._src = e._src AND p._row = e._row)
    """)
    if "sessions" in kinds_present:
        # a session must name an engagement that loads in this batch or is already loaded
        con.execute("""
            INSERT INTO problems
            SELECT 'sessions', s._src, s._row, '案件ID', s.engagement_id,
                   '案件ID「' || s.engagement_id || '」の支援案件がありません（同じ取込か取込済みの支援案件が必要です）', 'error'
            FROM stg_sessions s
            WHERE s.engagement_id IS NOT NULL
              AND s.engagement_id NOT IN (SELECT engagement_id FROM known_engagements)
              AND s.engagement_id NOT IN (
                  SELECT e.engagement_id FROM valid_engagement_ids e)
        """)
