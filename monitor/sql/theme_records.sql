-- The records behind one theme ($theme; '未分類' for unmapped ones), newest first, at most $max_rows rows;
-- total_rows = how many there are in scope. mart_theme_records holds keys and dimensions only: the newest records
-- are picked there (record_id = consultation_id, or engagement_id#session_no for a session), and the client name and
-- the free text (原文, 概要・メモ) are joined from the base tables (sessions + engagements, consultations) for
-- those rows only.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
rec AS (   -- theme rows (record × theme) in scope: a record is in scope by its own date
    SELECT r.*,
           coalesce(r.consultation_id, r.engagement_id || '#' || CAST(r.session_no AS VARCHAR)) AS record_id
    FROM mart_theme_records AS r, p
    WHERE dx_in_filters(r.fiscal_year, r.prefecture, r.consortium, r.support_type, r.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(r.date, p.date_from, p.date_to)
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
