-- One row per engagement: sessions done of planned, the current stage (highest stage reached), the last session,
-- days since it relative to the data's as-of date, the stalled flag, bank attendance.
-- 停滞 / 経過日数 / データ基準日: data/reference/indicators.csv (the rules themselves: etl/sql/rules.sql).
WITH as_of AS (
    SELECT coalesce(
        (SELECT try_cast(value AS DATE) FROM meta WHERE key = 'data_as_of'),
        (SELECT max(date) FROM sessions),
        current_date
    ) AS as_of_date
),
session_stats AS (
    SELECT
        engagement_id,
        count(*)                                 AS sessions_done,
        min(date)                                AS first_session_date,
        max(date)                                AS last_session_date,
        max(stage_no)                            AS current_stage_no,
        count(*) FILTER (WHERE bank_attended)    AS bank_sessions,
        count(bank_attended)                     AS bank_known_sessions,
        sum(duration_min)                        AS total_minutes
    FROM sessions
    GROUP BY engagement_id
),
joined AS (
    SELECT
        e.*,
        coalesce(e.planned_sessions, CASE WHEN e.support_type = '伴走支援' THEN 10 END) AS planned_resolved,
        coalesce(s.sessions_done, 0)       AS sessions_done,
        s.first_session_date,
        s.last_session_date,
        s.current_stage_no,
        coalesce(s.bank_sessions, 0)       AS bank_sessions,
        coalesce(s.bank_known_sessions, 0) AS bank_known_sessions,
        s.total_minutes,
        a.as_of_date
    FROM engagements AS e
    CROSS JOIN as_of AS a
    LEFT JOIN session_stats AS s ON s.engagement_id = e.engagement_id
)
SELECT
    j.engagement_id,
    j.fiscal_year,
    j.programme,
    j.consortium,
    j.support_type,
    j.client_name,
    j.client_type,
    j.prefecture,
    j.prefecture_code,
    j.municipality,
    j.municipality_code,
    j.industry,
    j.lead_coordinator,
    j.bank,
    j.start_date,
    j.end_date,
    j.planned_resolved                                            AS planned_sessions,
    j.status,
    j.deliverable,
    j.deliverable_date,
    -- DX計画書策定数 (data/reference/indicators.csv dx_plans), for 概要 and 報告 alike: a 伴走支援 engagement whose
    -- deliverable names a 計画 and has a completion date (the reader checks that date against the selection)
    (j.support_type = '伴走支援' AND j.deliverable LIKE '%計画%' AND j.deliverable_date IS NOT NULL)
                                                                  AS is_dx_plan,
    j.sessions_done,
    CASE WHEN j.planned_resolved > 0 THEN j.sessions_done / j.planned_resolved END AS progress_ratio,
    j.first_session_date,
    j.last_session_date,
    j.current_stage_no,
    st.stage                                                      AS current_stage,
    j.as_of_date,
    dx_days_since(j.last_session_date, j.as_of_date)              AS days_since_last_session,
    dx_is_stalled(j.status, j.planned_resolved, j.sessions_done, j.last_session_date, j.start_date, j.as_of_date)
                                                                  AS stalled,
    j.bank_sessions,
    j.bank_known_sessions,
    CASE WHEN j.bank_known_sessions > 0 THEN j.bank_sessions / j.bank_known_sessions END AS bank_rate,
    j.total_minutes,
    -- the engagement's span, used by the 期間 filter (an engagement is in a period it overlaps)
    coalesce(j.start_date, j.first_session_date)                  AS span_start,
    dx_span_end(j.end_date, j.last_session_date, j.as_of_date)    AS span_end
FROM joined AS j
LEFT JOIN stages AS st ON st.stage_no = j.current_stage_no
