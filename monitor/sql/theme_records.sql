-- The records behind one theme ($theme; '未分類' for unmapped ones), newest first, at most $max_rows rows;
-- total_rows = how many there are in scope. mart_theme_records holds keys and dimensions only: the newest records
-- are picked there (record_id = consultation_id, or engagement_id#session_no for a session), and the client name and
-- the free text (原文, 概要・メモ) are joined from the base tables (sessions + engagements, consultations) for
-- those rows only.
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
    SELECT r.*,
           coalesce(r.consultation_id, r.engagement_id || '#' || CAST(r.session_no AS VARCHAR)) AS record_id
    FROM mart_theme_records AS r, p
    WHERE (p.fy IS NULL OR r.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, r.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, r.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, r.support_type))
      AND (p.date_from IS NULL OR r.date >= p.date_from)
      AND (p.date_to IS NULL OR r.date <= p.date_to)
),
picked AS MATERIALIZED (   -- the newest $max_rows record ids of the theme (keys and dimensions only)
    SELECT
        source,
        record_id,
        consultation_id,
        engagement_id,
        session_no,
        date,
        prefecture,
        municipality,
        count(*) OVER ()  AS total_rows
    FROM rec
    WHERE theme = CAST($theme AS VARCHAR)
    ORDER BY date DESC, record_id
    LIMIT CAST($max_rows AS INTEGER)
),
session_text AS (
    SELECT k.source, k.record_id, e.client_name, s.themes_original AS original_text, s.notes AS summary
    FROM picked AS k
    JOIN sessions AS s ON s.engagement_id = k.engagement_id AND s.session_no = k.session_no
    JOIN engagements AS e ON e.engagement_id = k.engagement_id
    WHERE k.source = '伴走記録'
),
consultation_text AS (
    SELECT k.source, k.record_id, c.client_name, c.theme_original AS original_text, c.summary
    FROM picked AS k
    JOIN consultations AS c ON c.consultation_id = k.consultation_id
    WHERE k.source = '相談記録'
),
texts AS (
    SELECT * FROM session_text
    UNION ALL
    SELECT * FROM consultation_text
)
SELECT
    k.source,
    k.date,
    x.client_name,
    k.prefecture,
    k.municipality,
    x.original_text,
    x.summary,
    k.engagement_id,
    k.record_id,
    k.total_rows
FROM picked AS k
LEFT JOIN texts AS x ON x.source = k.source AND x.record_id = k.record_id
ORDER BY k.date DESC, k.record_id
