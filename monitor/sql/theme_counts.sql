-- Count and share of each theme in scope: consultations (相談記録) and 伴走支援 sessions (伴走記録); a session with
-- several themes counts once for each. share = this theme's count / all theme counts in scope (sums to 1).
-- Unmapped records appear as '未分類'.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
rec AS (   -- theme rows (record × theme) in scope: a record is in scope by its own date
    SELECT r.*
    FROM mart_theme_records AS r, p
    WHERE dx_in_filters(r.fiscal_year, r.prefecture, r.consortium, r.support_type, r.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(r.date, p.date_from, p.date_to)
)
SELECT
    theme,
    any_value(theme_id)                              AS theme_id,
    any_value(audience)                              AS audience,
    min(theme_sort_order)                            AS theme_sort_order,
    count(*)                                         AS records,
    count(*) FILTER (WHERE source = '相談記録')      AS consultations,
    count(*) FILTER (WHERE source = '伴走記録')      AS sessions,
    count(*) / sum(count(*)) OVER ()                 AS share
FROM rec
GROUP BY theme
ORDER BY theme = '未分類', records DESC, theme_sort_order, theme
