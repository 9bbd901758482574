-- 報告: municipalities supported in one 年度 for one コンソーシアム ($consortium) or the whole programme (NULL):
-- their support types (engagements 実施中 or 完了), engagements, consultations and 研修 held for them.
WITH p AS (
    SELECT CAST($fy AS INTEGER) AS fy, CAST($consortium AS VARCHAR) AS consortium
),
eng AS (
    SELECT m.client_name, m.prefecture, m.prefecture_code, m.municipality_code, m.support_type, m.status,
           m.sessions_done
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_report(m.fiscal_year, m.consortium, p.fy, p.consortium) AND m.client_type = '自治体'
      AND (m.status IN ('実施中', '完了') OR (m.status IS NULL AND m.sessions_done > 0))
),
con AS (
    SELECT c.client_name, c.prefecture, c.prefecture_code, c.municipality_code
    FROM mart_consultations AS c, p
    WHERE dx_in_report(c.fiscal_year, c.consortium, p.fy, p.consortium) AND c.client_type = '自治体'
),
clients AS (
    SELECT client_name, any_value(prefecture) AS prefecture, any_value(prefecture_code) AS prefecture_code,
           any_value(municipality_code) AS municipality_code
    FROM (SELECT client_name, prefecture, prefecture_code, municipality_code FROM eng
          UNION ALL
          SELECT client_name, prefecture, prefecture_code, municipality_code FROM con)
    GROUP BY client_name
),
eng_types AS (
    SELECT e.client_name, e.support_type, coalesce(any_value(t.sort_order), 999) AS sort_order,
           count(*) AS engagements
    FROM eng AS e
    LEFT JOIN support_types AS t ON t.support_type = e.support_type
    GROUP BY e.client_name, e.support_type
),
eng_agg AS (
    SELECT client_name,
           string_agg(support_type, '、' ORDER BY sort_order, support_type) AS support_types,
           sum(engagements) AS engagements
    FROM eng_types
    GROUP BY client_name
),
con_agg AS (
    SELECT client_name, count(*) AS consultations FROM con GROUP BY client_name
),
training AS (
    SELECT v.municipality, v.prefecture, count(*) AS trainings, coalesce(sum(v.attendees), 0) AS trainees
    FROM events AS v, p
    WHERE dx_in_report(v.fiscal_year, v.consortium, p.fy, p.consortium)
      AND v.kind = '職員研修' AND v.municipality IS NOT NULL
    GROUP BY ALL
)
SELECT
    c.client_name                                   AS municipality,
    c.prefecture,
    c.municipality_code,
    coalesce(e.support_types, '相談会')             AS support_types,
    CAST(coalesce(e.engagements, 0) AS BIGINT)      AS engagements,
    CAST(coalesce(k.consultations, 0) AS BIGINT)    AS consultations,
    CAST(coalesce(tr.trainings, 0) AS BIGINT)       AS trainings,
    CAST(coalesce(tr.trainees, 0) AS BIGINT)        AS trainees
FROM clients AS c
LEFT JOIN eng_agg AS e ON e.client_name = c.client_name
LEFT JOIN con_agg AS k ON k.client_name = c.client_name
LEFT JOIN training AS tr ON tr.municipality = c.client_name AND tr.prefecture = c.prefecture
ORDER BY c.prefecture_code NULLS LAST, c.municipality_code NULLS LAST, c.client_name
