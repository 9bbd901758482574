"""Independent computations of the glossary's rules (data/reference/indicators.csv), straight from the record
tables with plain SQL: the oracle the page, report and export tests compare against. Never the pages' own queries or
the marts. One function per indicator id; tests/test_glossary.py checks every glossary id has one here."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb


@dataclass
class Selection:
    """What a page's filters select, as the glossary reads them (None = not narrowed)."""
    fiscal_year: int | None = None
    prefecture: str | None = None
    consortium: str | None = None
    coordinator: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _engagement_where(sel: Selection, alias: str = "e") -> tuple[str, dict]:
    parts, params = ["TRUE"], {}
    if sel.prefecture is not None:
        parts.append(f"{alias}.prefecture = $pref")
        params["pref"] = sel.prefecture
    if sel.consortium is not None:
        parts.append(f"{alias}.consortium = $cons")
        params["cons"] = sel.consortium
    if sel.coordinator is not None:
        parts.append(f"{alias}.lead_coordinator = $coord")
        params["coord"] = sel.coordinator
    return " AND ".join(parts), params


def _dated_where(sel: Selection, column: str, fy_column: str) -> tuple[str, dict]:
    parts, params = ["TRUE"], {}
    if sel.fiscal_year is not None:
        parts.append(f"{fy_column} = $fy")
        params["fy"] = sel.fiscal_year
    if sel.date_from is not None:
        parts.append(f"{column} >= $dfrom")
        params["dfrom"] = sel.date_from
    if sel.date_to is not None:
        parts.append(f"{column} <= $dto")
        params["dto"] = sel.date_to
    return " AND ".join(parts), params


def _held_sql(sel: Selection) -> tuple[str, dict]:
    """Sessions in the selection (their own date and 年度; the engagement passes the other filters) with their
    engagement's columns."""
    ew, ep = _engagement_where(sel)
    dw, dp = _dated_where(sel, "s.date", "year(s.date - INTERVAL 3 MONTH)")
    return (f"SELECT s.*, e.client_name, e.client_type, e.status, e.support_type, "
            f"coalesce(e.planned_sessions, CASE WHEN e.support_type = '伴走支援' THEN 10 END) AS plan "
            f"FROM sessions s JOIN engagements e ON e.engagement_id = s.engagement_id WHERE {ew} AND {dw}", ep | dp)


def _one(con, sql: str, params: dict):
    return con.execute(sql, params).fetchall()[0][0]


def companies(con, sel: Selection, status: str | None = None) -> int:
    sql, params = _held_sql(sel)
    extra = "" if status is None else f" AND status = '{status}'"
    return _one(con, f"SELECT count(DISTINCT client_name) FROM ({sql}) WHERE client_type = '企業'{extra}", params)


def sessions(con, sel: Selection) -> int:
    sql, params = _held_sql(sel)
    return _one(con, f"SELECT count(*) FROM ({sql})", params)


def planned_sessions(con, sel: Selection) -> int:
    sql, params = _held_sql(sel)
    return _one(con, f"SELECT coalesce(sum(plan), 0) FROM (SELECT DISTINCT engagement_id, plan FROM ({sql}))", params)


def session_rate(con, sel: Selection) -> float | None:
    planned = planned_sessions(con, sel)
    return None if not planned else sessions(con, sel) / planned


def bank_rate(con, sel: Selection) -> float | None:
    sql, params = _held_sql(sel)
    bank, known = con.execute(f"SELECT count(*) FILTER (WHERE bank_attended), count(bank_attended) FROM ({sql})",
                              params).fetchall()[0]
    return None if known == 0 else bank / known


def planned_engagements(con, sel: Selection) -> int:
    """予定 N件 on the 支援企業数 card: engagements 予定 of the 年度 with no session at all."""
    ew, ep = _engagement_where(sel)
    fy = "" if sel.fiscal_year is None else " AND e.fiscal_year = $fy"
    return _one(con, f"""SELECT count(*) FROM engagements e WHERE {ew}{fy} AND e.status = '予定'
                         AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.engagement_id = e.engagement_id)""",
                ep | ({} if sel.fiscal_year is None else {"fy": sel.fiscal_year}))


def dx_plans(con, sel: Selection) -> int:
    ew, ep = _engagement_where(sel)
    dw, dp = _dated_where(sel, "e.deliverable_date", "e.fiscal_year")
    return _one(con, f"""SELECT count(*) FROM engagements e WHERE {ew} AND {dw} AND e.support_type = '伴走支援'
                         AND e.deliverable LIKE '%計画%' AND e.deliverable_date IS NOT NULL""", ep | dp)


def _events(con, sel: Selection, kinds_sql: str, what: str) -> int:
    parts, params = [kinds_sql], {}
    if sel.prefecture is not None:
        parts.append("v.prefecture = $pref")
        params["pref"] = sel.prefecture
    if sel.consortium is not None:
        parts.append("v.consortium = $cons")
        params["cons"] = sel.consortium
    if sel.coordinator is not None:
        parts.append("FALSE")                    # events have no 担当ITC
    dw, dp = _dated_where(sel, "v.date", "year(v.date - INTERVAL 3 MONTH)")
    return _one(con, f"SELECT {what} FROM events v WHERE {' AND '.join(parts)} AND {dw}", params | dp)


def seminar_attendees(con, sel: Selection) -> int:
    return _events(con, sel, "v.kind LIKE '%セミナー%'", "coalesce(sum(attendees), 0)")


def seminars(con, sel: Selection) -> int:
    return _events(con, sel, "v.kind LIKE '%セミナー%'", "count(*)")


def training_attendees(con, sel: Selection) -> int:
    return _events(con, sel, "v.kind IN ('職員研修', '基礎研修')", "coalesce(sum(attendees), 0)")


def consultations(con, sel: Selection) -> int:
    parts, params = ["TRUE"], {}
    if sel.prefecture is not None:
        parts.append("c.prefecture = $pref")
        params["pref"] = sel.prefecture
    if sel.coordinator is not None:
        parts.append("c.coordinator = $coord")
        params["coord"] = sel.coordinator
    if sel.consortium is not None:           # a consultation's consortium: its linked engagement's
        parts.append("c.engagement_id IN (SELECT engagement_id FROM engagements WHERE consortium = $cons)")
        params["cons"] = sel.consortium
    dw, dp = _dated_where(sel, "c.date", "year(c.date - INTERVAL 3 MONTH)")
    return _one(con, f"SELECT count(*) FROM consultations c WHERE {' AND '.join(parts)} AND {dw}", params | dp)


def as_of_date(con, load_day: dt.date | None = None, prefectures: tuple[str, ...] | None = None) -> dt.date | None:
    """データ基準日: the latest activity (session, consultation, event) on or before the load day; under a
    prefecture restriction the latest within those prefectures."""
    load_day = load_day or dt.date.today()
    pref = "" if prefectures is None else " AND prefecture IN (SELECT unnest($prefs))"
    params = {"day": load_day} | ({} if prefectures is None else {"prefs": list(prefectures)})
    return _one(con, f"""SELECT max(d) FROM (
        SELECT s.date AS d, e.prefecture FROM sessions s JOIN engagements e USING (engagement_id)
        UNION ALL SELECT date, prefecture FROM consultations
        UNION ALL SELECT date, prefecture FROM events) WHERE d <= $day{pref}""", params)


def last_sessions(con) -> dict[str, dt.date | None]:
    return dict(con.execute("""SELECT e.engagement_id, max(s.date) FROM engagements e
                               LEFT JOIN sessions s USING (engagement_id) GROUP BY 1""").fetchall())


def days_since_last_session(con, as_of: dt.date) -> dict[str, int | None]:
    return {k: None if d is None else (as_of - d).days for k, d in last_sessions(con).items()}


def stalled(con, as_of: dt.date, prefectures: tuple[str, ...] | None = None) -> set[str]:
    """停滞: 実施中, sessions planned or held, no session for more than 30 days before the as-of date (none yet:
    from the start date)."""
    out = set()
    last = last_sessions(con)
    for eid, status, planned, support, start, pref in con.execute(
            "SELECT engagement_id, status, planned_sessions, support_type, start_date, prefecture FROM engagements"
    ).fetchall():
        if prefectures is not None and pref not in prefectures:
            continue
        plan = planned if planned is not None else (10 if support == "伴走支援" else None)
        since = last[eid] or start
        if status == "実施中" and ((plan or 0) > 0 or last[eid] is not None) and since is not None \
                and (as_of - since).days > 30:
            out.add(eid)
    return out


def engagements(con, sel: Selection) -> int:
    """案件数: engagements of the selection; with a 期間, those whose span (start … end, or the as-of date while
    running, never before the last session) overlaps it; without a start and a session, in no 期間."""
    ew, ep = _engagement_where(sel)
    fy = "" if sel.fiscal_year is None else " AND e.fiscal_year = $fy"
    params = ep | ({} if sel.fiscal_year is None else {"fy": sel.fiscal_year})
    if sel.date_from is None and sel.date_to is None:
        return _one(con, f"SELECT count(*) FROM engagements e WHERE {ew}{fy}", params)
    raise NotImplementedError("a 期間 needs the as-of date: use the page tests' own period cases")


def municipalities(con, sel: Selection) -> int:
    ew, ep = _engagement_where(sel)
    fy = "" if sel.fiscal_year is None else " AND e.fiscal_year = $fy"
    cfy = "" if sel.fiscal_year is None else " AND year(c.date - INTERVAL 3 MONTH) = $fy"
    cpref = "" if sel.prefecture is None else " AND c.prefecture = $pref"
    params = ep | ({} if sel.fiscal_year is None else {"fy": sel.fiscal_year})
    return _one(con, f"""SELECT count(*) FROM (
        SELECT client_name FROM engagements e WHERE {ew}{fy} AND client_type = '自治体'
            AND (status IN ('実施中', '完了')
                 OR (status IS NULL AND EXISTS (SELECT 1 FROM sessions s WHERE s.engagement_id = e.engagement_id)))
        UNION SELECT c.client_name FROM consultations c
            LEFT JOIN municipalities m ON m.municipality = c.client_name
            WHERE m.municipality IS NOT NULL{cfy}{cpref})""", params)


def connect(db) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)
