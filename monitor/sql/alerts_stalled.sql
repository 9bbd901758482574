-- Stalled engagements (data/reference/indicators.csv 停滞案件, the rule in etl/sql/rules.sql) at a given date
-- ($as_of): sessions after it are not counted yet, so `etl alerts --as-of` can ask about an earlier day. The most
-- days without a session first; at most $max_rows rows, total_rows = all of them.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, NULL, NULL, $support_types, $coordinators)),
a AS (SELECT CAST($as_of AS DATE) AS as_of),
held AS (
    SELECT s.engagement_id, count(*) AS sessions_done, max(s.date) AS last_session_date
    FROM sessions AS s, a
    WHERE s.date <= a.as_of
    GROUP BY s.engagement_id
),
stalled AS (
    SELECT m.engagement_id, m.consortium, m.client_name, h.last_session_date,
           dx_days_since(h.last_session_date, a.as_of) AS days_since_last_session
    FROM mart_engagement_progress AS m
    CROSS JOIN a
    CROSS JOIN p
    LEFT JOIN held AS h ON h.engagement_id = m.engagement_id
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND (m.start_date IS NULL OR m.start_date <= a.as_of)
      AND dx_is_stalled(m.status, m.planned_sessions, coalesce(h.sessions_done, 0), h.last_session_date,
                        m.start_date, a.as_of)
)
SELECT *, count(*) OVER () AS total_rows
FROM stalled
ORDER BY days_since_last_session DESC NULLS FIRST, engagement_id
LIMIT $max_rows
