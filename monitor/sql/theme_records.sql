-- The records behind one theme ($theme; '未分類' for unmapped ones), newest first, at most $max_rows rows;
-- total_rows = how many there are in scope.
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types
),
rec AS (   -- theme rows (record × theme) in scope: a record is in scope by its own date
    SELECT r.*
    FROM mart_theme_records AS r, p
    WHERE (p.fy IS NULL OR r.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, r.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, r.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, r.support_type))
      AND (p.date_from IS NULL OR r.date >= p.date_from)
      AND (p.date_to IS NULL OR r.date <= p.date_to)
)
SELECT
    source,
    date,
    client_name,
    prefecture,
    municipality,
    original_text,
    summary,
    engagement_id,
    record_id,
    count(*) OVER ()  AS total_rows
FROM rec
WHERE theme = CAST($theme AS VARCHAR)
ORDER BY date DESC, record_id
LIMIT CAST($max_rows AS INTEGER)
