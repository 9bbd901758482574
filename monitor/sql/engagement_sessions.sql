-- Sessions of the engagements in scope for the timeline: at most $max_engagements engagements (stalled and most
-- recently active first); sessions inside the 期間 when one is set.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)   -- not started (no date) = in no period
),
chosen AS (
    SELECT engagement_id, client_name, consortium, stalled, last_session_date
    FROM eng
    WHERE sessions_done > 0
    ORDER BY stalled DESC, last_session_date DESC NULLS LAST, engagement_id
    LIMIT CAST($max_engagements AS INTEGER)
)
SELECT
    c.engagement_id,
    c.client_name,
    c.consortium,
    c.stalled,
    s.session_no,
    s.date,
    s.stage_no,
    s.stage,
    s.bank_attended
FROM chosen AS c
JOIN sessions AS s ON s.engagement_id = c.engagement_id
CROSS JOIN p
WHERE dx_in_period(s.date, p.date_from, p.date_to)
ORDER BY c.stalled DESC, c.last_session_date DESC NULLS LAST, c.engagement_id, s.session_no
