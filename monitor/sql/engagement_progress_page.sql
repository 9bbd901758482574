-- One page of engagement_progress (same rows, same order): rows $offset+1 .. $offset+$max_rows of the engagements
-- in scope, optionally only the stalled ones ($only_stalled), optionally only those the 進捗 page lists
-- ($progress_only: planned sessions known or at least one session held); total_rows = how many there are in all.
-- For pages that show a long list a page at a time: the browser never gets more than $max_rows rows.
-- $max_rows NULL = every row (exports, tests), $offset NULL = 0.
WITH p AS (
    SELECT
        *,
        coalesce(CAST($only_stalled AS BOOLEAN), false)  AS only_stalled,
        coalesce(CAST($progress_only AS BOOLEAN), false) AS progress_only
    FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)
),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)   -- not started (no date) = in no period
      AND (NOT p.only_stalled OR m.stalled)
      AND (NOT p.progress_only OR m.planned_sessions IS NOT NULL OR m.sessions_done > 0)
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
    as_of_date,
    count(*) OVER ()  AS total_rows
FROM eng
ORDER BY stalled DESC, days_since_last_session DESC NULLS LAST, engagement_id
LIMIT CAST($max_rows AS INTEGER) OFFSET coalesce(CAST($offset AS INTEGER), 0)
