-- The counts of the 進捗 page over every engagement it lists (planned sessions known or at least one session held),
-- in one row: engagements, in progress, completed, stalled, with at least one session; and the data's as-of date.
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types
),
eng AS (
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE (p.fy IS NULL OR m.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, m.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, m.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, m.support_type))
      AND (p.date_to IS NULL OR m.span_start <= p.date_to)
      AND (p.date_from IS NULL OR m.span_end >= p.date_from)
      AND (m.planned_sessions IS NOT NULL OR m.sessions_done > 0)
)
SELECT
    count(*)                                     AS engagements,
    count(*) FILTER (WHERE status = '実施中')     AS in_progress,
    count(*) FILTER (WHERE status = '完了')       AS completed,
    count(*) FILTER (WHERE stalled)              AS stalled,
    count(*) FILTER (WHERE sessions_done > 0)    AS with_sessions,
    max(as_of_date)                              AS as_of_date
FROM eng
