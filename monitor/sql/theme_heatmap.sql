-- Theme × area counts for the heatmap: area = prefecture, or municipality when $by_municipality is true (used when
-- exactly one prefecture is chosen). Records without a municipality count under '市区町村不明'.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
rec AS (   -- theme rows (record × theme) in scope: a record is in scope by its own date
    SELECT r.*
    FROM mart_theme_records AS r, p
    WHERE dx_in_filters(r.fiscal_year, r.prefecture, r.consortium, r.support_type, r.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(r.date, p.date_from, p.date_to)
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
