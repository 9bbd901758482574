-- Rules that depend on the data's as-of date, defined once: the marts use them with the database's as-of date
-- (meta data_as_of), and the read side uses them again with the as-of date of a prefecture-restricted scope
-- (monitor/queries.py restrict_connection). TEMP so they work on read-only attached databases too.
-- The rules are stated in data/reference/indicators.csv (停滞, 経過日数, データ基準日).

-- 停滞: status 実施中, sessions planned or held, and no session for more than 30 days before the as-of date
-- (none held yet: counted from the start date).
CREATE OR REPLACE TEMP MACRO dx_is_stalled(status, planned_sessions, sessions_done, last_session_date, start_date,
                                           as_of) AS
    coalesce(
        status = '実施中'
        AND (planned_sessions > 0 OR sessions_done > 0)
        AND date_diff('day', coalesce(last_session_date, start_date), as_of) > 30,
        false);

-- 経過日数: days from the last session to the as-of date (NULL without a session).
CREATE OR REPLACE TEMP MACRO dx_days_since(last_session_date, as_of) AS
    date_diff('day', last_session_date, as_of);

-- The end of an engagement's span for the 期間 filter: its end date, or the as-of date while it runs, and never
-- before its last session.
CREATE OR REPLACE TEMP MACRO dx_span_end(end_date, last_session_date, as_of) AS
    greatest(coalesce(end_date, as_of), coalesce(last_session_date, end_date, as_of));
