-- One row per engagement in scope (optionally only the stalled ones: $only_stalled), most urgent first.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types)),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type,
                        p.fy, p.prefectures, p.consortia, p.support_types)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)   -- not started (no date) = in no period
)
SELECT
    engagement_id,
    fiscal_year,
    consortium,
    support_type,
    client_name,
    client_type,
    prefecture,
    municipality,
    municipality_code,
    lead_coordinator,
    bank,
    planned_sessions,
    sessions_done,
    progress_ratio,
    current_stage_no,
    current_stage,
    first_session_date,
    last_session_date,
    days_since_last_session,
    status,
    stalled,
    start_date,
    end_date,
    deliverable,
    deliverable_date,
    bank_sessions,
    bank_known_sessions,
    bank_rate,
    as_of_date
FROM eng, (SELECT CAST($only_stalled AS BOOLEAN) AS only_stalled) AS o
WHERE NOT coalesce(o.only_stalled, false) OR stalled
ORDER BY stalled DESC, days_since_last_session DESC NULLS LAST, engagement_id
