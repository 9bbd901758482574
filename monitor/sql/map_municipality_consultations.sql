-- The consultations in scope at one municipality ($municipality_code), newest first, at most $max_rows rows;
-- total_rows = how many there are.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
unique_names AS (
    SELECT prefecture, municipality, any_value(municipality_code) AS municipality_code
    FROM municipalities
    GROUP BY prefecture, municipality
    HAVING count(*) = 1
),
con AS (
    SELECT c.*
    FROM mart_consultations AS c, p
    WHERE dx_in_filters(c.fiscal_year, c.prefecture, c.consortium, c.support_type, c.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(c.date, p.date_from, p.date_to)
)
SELECT
    c.consultation_id,
    c.date,
    c.client_name,
    c.department,
    coalesce(c.theme, '未分類') AS theme,
    c.theme_original,
    c.channel,
    c.coordinator,
    c.summary,
    count(*) OVER ()           AS total_rows
FROM con AS c
LEFT JOIN unique_names AS u
    ON c.municipality_code IS NULL AND u.prefecture = c.prefecture AND u.municipality = c.municipality
WHERE coalesce(c.municipality_code, u.municipality_code) = CAST($municipality_code AS VARCHAR)
ORDER BY c.date DESC, c.consultation_id
LIMIT CAST($max_rows AS INTEGER)
