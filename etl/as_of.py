"""The data's as-of date (data/reference/indicators.csv データ基準日): the latest activity that took place by a day."""
from __future__ import annotations

import datetime as dt

# the latest session, consultation or event on or before $today; {db} names the database ('' or 'current_db.')
ACTIVITY_MAX = """SELECT max(d) AS d FROM (
    SELECT max(date) FROM {db}sessions WHERE date <= $today
    UNION ALL SELECT max(date) FROM {db}consultations WHERE date <= $today
    UNION ALL SELECT max(date) FROM {db}events WHERE date <= $today) t(d)"""


def set_data_as_of(con) -> None:
    """meta.data_as_of on the connection's current database after a withdrawal: a date the steward stated stays;
    otherwise the latest activity that took place by today (data/reference/indicators.csv データ基準日)."""
    stated = con.execute("SELECT value FROM meta WHERE key = 'data_as_of_source'").fetchall()
    if stated and stated[0][0] == "stated":
        return
    as_of = con.execute(ACTIVITY_MAX.format(db=""), {"today": dt.date.today()}).fetchall()[0][0]
    con.execute("INSERT OR REPLACE INTO meta VALUES ('data_as_of', ?), ('data_as_of_source', 'activity')",
                [as_of.isoformat() if as_of else None])
