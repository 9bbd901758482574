"""Validate: staged rows → problems (errors reject a row; warnings only inform).

Checks are generated from the kind spec in kinds.py (required, parseable, allowed values, places) plus
checks across rows (duplicate keys, sessions naming a known engagement). All run as SQL over whole
tables; identifiers come from kinds.py, values are never pasted into SQL.
"""
from __future__ import annotations

import calendar
import re
import unicodedata

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

_ERA_BASE = {"令和": 2018, "r": 2018, "平成": 1988, "h": 1988, "昭和": 1925, "s": 1925}
_WESTERN = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:\(.*\))?\s*$")
_ERA = re.compile(r"^\s*(令和|平成|昭和|[rhs])\s*(元|\d{1,2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                  r"\s*(?:\(.*\))?\s*$", re.I)
_DIGITS8 = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def impossible_date_reason(text: str | None) -> str | None:
    """For a value written as a date that is not in the calendar (令和6年2月30日, 2024-02-30, 2024/13/1): the
    Japanese reason naming the month's last day; None for anything else (the generic 「日付として読めません」)."""
    if text is None:
        return None
    n = unicodedata.normalize("NFKC", str(text))
    if m := _WESTERN.match(n) or _DIGITS8.match(n):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _ERA.match(n):
        year = _ERA_BASE[m[1].lower()] + (1 if m[2] == "元" else int(m[2]))
        month, day = int(m[3]), int(m[4])
    else:
        return None
    if not 1900 <= year <= 2100:
        return None
    if not 1 <= month <= 12:
        return f"存在しない日付です（{month}月はありません。月は1〜12です）"
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        return f"存在しない日付です（{year}年{month}月は{last}日まで）"
    return None


def _date_reasons(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the generic date reason by 「存在しない日付です（…）」 where the value is a date that is not in the
    calendar: a user who wrote 令和6年2月30日 must not read that 和暦 is not accepted. Few rows: done in Python."""
    values = [v for (v,) in con.execute("SELECT DISTINCT value FROM problems WHERE reason = ?",
                                        [TYPE_REASON["date"]]).fetchall()]
    updates = [(reason, TYPE_REASON["date"], v) for v in values if (reason := impossible_date_reason(v))]
    if updates:
        con.executemany("UPDATE problems SET reason = ? WHERE reason = ? AND value = ?", updates)


PROBLEMS_DDL = """
CREATE OR REPLACE TEMP TABLE problems (
    kind VARCHAR, _src INTEGER, _row INTEGER, column_name VARCHAR, value VARCHAR,
    reason VARCHAR, severity VARCHAR)
"""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


RAW = "raw__"
# near-name suggestions, most similar first: fewest edits, then (same length) the closest characters in shape
# (dx_name_shape), then Jaro-Winkler, then the name itself so that the order is stable
NEAR_ORDER = ("levenshtein({a}, {b}), dx_name_shape({a}, {b}) NULLS LAST, "
              "jaro_winkler_similarity({a}, {b}) DESC, {a}")   # prefix of the raw (text) columns in the per-kind check table


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
                              SELECT string_agg(m.prefecture || m.municipality, '、' ORDER BY rank)
                              FROM (SELECT m.*, row_number() OVER (ORDER BY {NEAR_ORDER.format(a='m.municipality', b='s.municipality_text')}) AS rank
                                    FROM municipalities m
                                    WHERE s.prefecture_code IS NULL OR m.prefecture_code = s.prefecture_code
                                    QUALIFY rank <= 3) m) || '）', '')
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
    _date_reasons(con)
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


# ── checks over the whole batch that need the load's context (as-of date, names already known) ───────────────

ACTIVITY_DATES = (("sessions", "date", "実施日"), ("consultations", "date", "相談日"), ("events", "date", "開催日"))
CONSORTIUM_KINDS = ("engagements", "events", "targets")
ROWS_SHOWN = 5

GROUPED_DDL = """
CREATE OR REPLACE TEMP TABLE grouped_problems (
    kind VARCHAR, _src INTEGER, _row INTEGER, column_name VARCHAR, value VARCHAR, reason VARCHAR,
    severity VARCHAR, n_rows BIGINT, rows_shown VARCHAR)
"""


def _rows_shown(rows: str) -> str:
    """SQL: the first row numbers of a group and … when there are more (rows: a list of its smallest row numbers,
    ROWS_SHOWN + 1 of them at most: min(_row, n) keeps only those, not every row of a large group)."""
    return (f"array_to_string(list_sort({rows})[1:{ROWS_SHOWN}], '、') "
            f"|| CASE WHEN len({rows}) > {ROWS_SHOWN} THEN '…' ELSE '' END")


def after_as_of(con: duckdb.DuckDBPyConnection, kinds_present: list[str], as_of, stated: bool) -> None:
    """A session, consultation or event dated after the as-of date: a warning per row (it loads; the as-of date does
    not move). `as_of` is the date the load will store (stated, or the latest activity up to the day of the load)."""
    if as_of is None:
        return
    keeps = "指定された日付のまま" if stated else "取込日までに実施した活動の最新日のまま"
    for kind, column, label in ACTIVITY_DATES:
        if kind not in kinds_present:
            continue
        # usually none: only then join the raw text (a join would scan every raw row)
        if not con.execute(f"SELECT EXISTS (SELECT 1 FROM stg_{kind} WHERE {q(column)} > $as_of)",
                           {"as_of": as_of}).fetchall()[0][0]:
            continue
        con.execute(f"""INSERT INTO problems
            SELECT '{kind}', s._src, s._row, '{label}', r.{q(column)},
                   'データ基準日（' || strftime($as_of, '%Y-%m-%d') || '）より後の日付です（取り込みます。データ基準日は'
                   || '{keeps}です）', 'warning'
            FROM (SELECT _src, _row FROM stg_{kind} WHERE {q(column)} > $as_of) s
            JOIN raw_{kind} r USING (_src, _row)""", {"as_of": as_of})


def new_consortia(con: duckdb.DuckDBPyConnection, kinds_present: list[str]) -> None:
    """A consortium named neither in data/reference/consortia.csv nor in the records already loaded (table
    `known_consortia`): one warning per name and file, with its rows and the known names nearest to it."""
    for kind in CONSORTIUM_KINDS:
        if kind not in kinds_present:
            continue
        near = NEAR_ORDER.format(a="k.consortium", b="g.consortium")
        con.execute(f"""INSERT INTO grouped_problems
            WITH known AS (SELECT consortium FROM consortia UNION SELECT consortium FROM known_consortia),
            g AS (
                SELECT _src, consortium, min(_row) AS first_row, count(*) AS n, min(_row, {ROWS_SHOWN + 1}) AS rows
                FROM stg_{kind}
                WHERE consortium IS NOT NULL AND consortium <> ''
                  AND consortium NOT IN (SELECT consortium FROM known WHERE consortium IS NOT NULL)
                GROUP BY _src, consortium
            )
            SELECT '{kind}', g._src, g.first_row, 'コンソーシアム', g.consortium,
                   'コンソーシアム一覧（data/reference/consortia.csv）にも取込済みの記録にもない名前です。'
                   || '新しいコンソーシアムとして取り込みます。書き間違いなら直してください'
                   || coalesce('（近い名前: ' || (
                        SELECT string_agg(k.consortium, '、' ORDER BY rank) FROM (
                            SELECT k.consortium, row_number() OVER (ORDER BY {near}) AS rank
                            FROM known k WHERE k.consortium IS NOT NULL QUALIFY rank <= 3) k) || '）', ''),
                   'warning', g.n, {_rows_shown('g.rows')}
            FROM g""")


def theme_mappings(con: duckdb.DuckDBPyConnection, kinds_present: list[str]) -> None:
    """A theme text that is not a taxonomy name but was mapped onto one by a keyword: a note per distinct text and
    file with its rows (生成AIの活用 → AI・RPAの利用推進), so the mapping is seen, not done silently."""
    reason = "テーマ分類の名前ではないため、キーワードで対応づけました（原文も保存します）"
    if "sessions" in kinds_present:
        # rows per distinct raw cell first (one pass over the sessions), then the few distinct items
        con.execute(f"""INSERT INTO grouped_problems
            WITH cells AS (
                SELECT _src, themes AS themes_raw, count(*) AS n, min(_row, {ROWS_SHOWN + 1}) AS rows
                FROM raw_sessions WHERE themes IS NOT NULL GROUP BY _src, themes
            ),
            items AS (
                SELECT c._src, c.n, c.rows, unnest(tt.theme_items) AS item
                FROM cells c JOIN session_theme_texts tt USING (themes_raw)
            )
            SELECT 'sessions', i._src, min(list_min(i.rows)), 'テーマ', i.item || ' → ' || tr.theme, '{reason}', 'note',
                   sum(i.n), {_rows_shown('flatten(list(i.rows))')}
            FROM items i JOIN theme_resolved tr ON tr.item = i.item AND tr.audience = '企業'
            WHERE tr.theme IS NOT NULL AND tr.theme <> i.item
            GROUP BY i._src, i.item, tr.theme""")
    if "consultations" in kinds_present:
        con.execute(f"""INSERT INTO grouped_problems
            SELECT 'consultations', _src, min(_row), '相談テーマ', theme_original || ' → ' || theme, '{reason}', 'note',
                   count(*), {_rows_shown(f'min(_row, {ROWS_SHOWN + 1})')}
            FROM stg_consultations WHERE theme IS NOT NULL AND theme <> theme_original
            GROUP BY _src, theme_original, theme""")


def batch_checks(con: duckdb.DuckDBPyConnection, kinds_present: list[str], as_of, stated: bool) -> None:
    """After validate(): warnings and notes that need the load's context. Fills `grouped_problems` (one row per
    distinct value and file) and adds per-row warnings to `problems`."""
    con.execute(GROUPED_DDL)
    after_as_of(con, kinds_present, as_of, stated)
    new_consortia(con, kinds_present)
    theme_mappings(con, kinds_present)
