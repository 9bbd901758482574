-- Sessions of the engagements in scope for the timeline: at most $max_engagements engagements (stalled and most
-- recently active first); sessions inside the 期間 when one is set.
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types
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
WHERE (p.date_from IS NULL OR s.date >= p.date_from)
  AND (p.date_to IS NULL OR s.date <= p.date_to)
ORDER BY c.stalled DESC, c.last_session_date DESC NULLS LAST, c.engagement_id, s.session_no
