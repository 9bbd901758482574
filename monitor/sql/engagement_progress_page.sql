-- One page of engagement_progress (same rows, same order): rows $offset+1 .. $offset+$max_rows of the engagements
-- in scope, optionally only the stalled ones ($only_stalled), optionally only those the 進捗 page lists
-- ($progress_only: planned sessions known or at least one session held); total_rows = how many there are in all.
-- For pages that show a long list a page at a time: the browser never gets more than $max_rows rows.
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types,
        coalesce(CAST($only_stalled AS BOOLEAN), false)  AS only_stalled,
        coalesce(CAST($progress_only AS BOOLEAN), false) AS progress_only
),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE (p.fy IS NULL OR m.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, m.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, m.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, m.support_type))
      AND (p.date_to IS NULL OR m.span_start <= p.date_to)   -- not started (no date) = in no period
      AND (p.date_from IS NULL OR m.span_end >= p.date_from)
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
LIMIT CAST($max_rows AS INTEGER) OFFSET CAST($offset AS INTEGER)
