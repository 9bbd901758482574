-- One page of engagement_progress (same rows, same order): rows $offset+1 .. $offset+$max_rows of the engagements
-- in scope, optionally only the stalled ones ($only_stalled), optionally only those the 進捗 page lists
-- ($progress_only: planned sessions known or at least one session held); total_rows = how many there are in all.
-- For pages that show a long list a page at a time: the browser never gets more than $max_rows rows.
-- $max_rows NULL = every row (exports, tests), $offset NULL = 0.
-- A stage of 進捗's funnel lists its engagements: $reached_stage (their highest stage so far is this stage or a
-- later one, as stage_funnel counts them), in $stage_consortium, or outside any consortium ($outside_consortia).
-- optional: $reached_stage, $stage_consortium, $outside_consortia
WITH p AS (
    SELECT
        *,
        coalesce(CAST($only_stalled AS BOOLEAN), false)  AS only_stalled,
        coalesce(CAST($progress_only AS BOOLEAN), false) AS progress_only,
        CAST($reached_stage AS INTEGER)                  AS reached_stage,
        CAST($stage_consortium AS VARCHAR)               AS stage_consortium,
        coalesce(CAST($outside_consortia AS BOOLEAN), false) AS outside_consortia
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
      AND (p.reached_stage IS NULL OR m.current_stage_no >= p.reached_stage)
      AND (p.stage_consortium IS NULL OR m.consortium = p.stage_consortium)
      AND (NOT p.outside_consortia OR m.consortium IS NULL)
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
