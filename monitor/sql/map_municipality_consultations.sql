-- The consultations in scope at one municipality ($municipality_code), newest first, at most $max_rows rows;
-- total_rows = how many there are.
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types
),
unique_names AS (
    SELECT prefecture, municipality, any_value(municipality_code) AS municipality_code
    FROM municipalities
    GROUP BY prefecture, municipality
    HAVING count(*) = 1
),
con AS (
    SELECT c.*
    FROM mart_consultations AS c, p
    WHERE (p.fy IS NULL OR c.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, c.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, c.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, c.support_type))
      AND (p.date_from IS NULL OR c.date >= p.date_from)
      AND (p.date_to IS NULL OR c.date <= p.date_to)
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
