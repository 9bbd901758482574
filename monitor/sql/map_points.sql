-- One row per municipality with activity in scope, for the 地図 page: engagements (案件数; an engagement is in a
-- 期間 it overlaps, as on the other pages), 伴走支援 sessions (伴走支援 実施回数) and consultations (相談件数) dated in scope,
-- and which client types (企業 / 自治体) the records there are for. A record without a municipality code is placed
-- by its prefecture + municipality name; rows whose place is unknown come back with municipality_code / lat NULL.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
unique_names AS (   -- names that identify exactly one municipality in their prefecture
    SELECT prefecture, municipality, any_value(municipality_code) AS municipality_code
    FROM municipalities
    GROUP BY prefecture, municipality
    HAVING count(*) = 1
),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)   -- 案件数 as everywhere (indicators.csv)
),
eng_m AS (
    SELECT
        coalesce(e.municipality_code, u.municipality_code)   AS municipality_code,
        count(*)                                             AS engagements,
        0                                                    AS sessions,
        0                                                    AS consultations,
        count(*) FILTER (WHERE e.client_type = '企業')       AS company_records,
        count(*) FILTER (WHERE e.client_type = '自治体')     AS municipal_records
    FROM eng AS e
    LEFT JOIN unique_names AS u
        ON e.municipality_code IS NULL AND u.prefecture = e.prefecture AND u.municipality = e.municipality
    GROUP BY 1
),
act_m AS (   -- sessions and consultations dated in scope (mart_map_activity is already placed)
    SELECT
        a.municipality_code,
        0                                                                   AS engagements,
        sum(a.sessions)                                                     AS sessions,
        sum(a.consultations)                                                AS consultations,
        sum(a.sessions + a.consultations) FILTER (WHERE a.client_type = '企業')   AS company_records,
        sum(a.sessions + a.consultations) FILTER (WHERE a.client_type = '自治体') AS municipal_records
    FROM mart_map_activity AS a, p
    WHERE dx_in_filters(a.fiscal_year, a.prefecture, a.consortium, a.support_type, a.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(a.date, p.date_from, p.date_to)
    GROUP BY 1
),
per_m AS (
    SELECT
        municipality_code,
        CAST(sum(engagements) AS BIGINT)                   AS engagements,
        CAST(sum(sessions) AS BIGINT)                      AS sessions,
        CAST(sum(consultations) AS BIGINT)                 AS consultations,
        CAST(coalesce(sum(company_records), 0) AS BIGINT)  AS company_records,
        CAST(coalesce(sum(municipal_records), 0) AS BIGINT) AS municipal_records
    FROM (SELECT * FROM eng_m UNION ALL BY NAME SELECT * FROM act_m)
    GROUP BY 1
)
SELECT
    x.municipality_code,
    m.municipality,
    m.prefecture,
    m.prefecture_code,
    m.lat,
    m.lng,
    x.engagements,
    x.sessions,
    x.consultations,
    CASE
        WHEN x.company_records > 0 AND x.municipal_records > 0 THEN '企業・自治体'
        WHEN x.municipal_records > 0 THEN '自治体'
        WHEN x.company_records > 0 THEN '企業'
        ELSE 'その他'
    END AS client_category
FROM per_m AS x
LEFT JOIN municipalities AS m ON m.municipality_code = x.municipality_code
WHERE x.engagements > 0 OR x.sessions > 0 OR x.consultations > 0
ORDER BY m.prefecture_code NULLS LAST, x.municipality_code NULLS LAST
