-- One row per engagement: sessions done of planned, the current stage (highest stage reached), the last session,
-- days since it relative to the data's as-of date, the stalled flag, bank attendance.
-- stalled = status 実施中, sessions planned or held, and no session (with none yet: no start) for more than 30 days
-- before the as-of date.
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
    -- the two programme indicators defined here once, for 概要 and 報告 alike:
    -- 支援企業数 counts 企業 clients under way or done; DX計画書策定数 counts 伴走支援 plans with a completion date
    (j.client_type = '企業' AND (j.status IN ('実施中', '完了') OR (j.status IS NULL AND j.sessions_done > 0)))
                                                                  AS is_supported_company,
    (j.support_type = '伴走支援' AND j.deliverable LIKE '%計画%' AND j.deliverable_date IS NOT NULL)
                                                                  AS is_dx_plan,
    j.sessions_done,
    CASE WHEN j.planned_resolved > 0 THEN j.sessions_done / j.planned_resolved END AS progress_ratio,
    j.first_session_date,
    j.last_session_date,
    j.current_stage_no,
    st.stage                                                      AS current_stage,
    j.as_of_date,
    date_diff('day', j.last_session_date, j.as_of_date)           AS days_since_last_session,
    coalesce(
        j.status = '実施中'
        AND (j.planned_resolved > 0 OR j.sessions_done > 0)
        AND date_diff('day', coalesce(j.last_session_date, j.start_date), j.as_of_date) > 30,
        false
    )                                                             AS stalled,
    j.bank_sessions,
    j.bank_known_sessions,
    CASE WHEN j.bank_known_sessions > 0 THEN j.bank_sessions / j.bank_known_sessions END AS bank_rate,
    j.total_minutes,
    -- the engagement's span, used by the 期間 filter (an engagement is in a period it overlaps)
    coalesce(j.start_date, j.first_session_date)                  AS span_start,
    greatest(coalesce(j.end_date, j.as_of_date), coalesce(j.last_session_date, j.end_date, j.as_of_date)) AS span_end
FROM joined AS j
LEFT JOIN stages AS st ON st.stage_no = j.current_stage_no
