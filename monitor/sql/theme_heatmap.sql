-- Theme × area counts for the heatmap: area = prefecture, or municipality when $by_municipality is true (used when
-- exactly one prefecture is chosen). Records without a municipality count under '市区町村不明'.
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
, q AS (SELECT coalesce(CAST($by_municipality AS BOOLEAN), false) AS by_municipality)
SELECT
    theme,
    min(theme_sort_order)                                                        AS theme_sort_order,
    CASE WHEN q.by_municipality THEN coalesce(municipality, '市区町村不明') ELSE prefecture END AS area,
    min(CASE WHEN q.by_municipality THEN coalesce(municipality_code, '999999') ELSE coalesce(prefecture_code, '99') END) AS area_order,
    count(*)                                                                     AS records
FROM rec, q
GROUP BY theme, area
ORDER BY area_order, area, theme_sort_order, theme
