-- Activity per day × municipality for the 地図 page: 伴走支援 sessions and consultations, with the dimensions the
-- filters use (fiscal year, prefecture, consortium, support type, coordinator as in mart_daily_activity) and the
-- client type (企業 / 自治体).
-- A record without a municipality code is placed by its prefecture + municipality name; one with neither is kept
-- with municipality_code NULL (counted as "not on the map").
WITH session_days AS (
    SELECT
        s.date,
        s.fiscal_year,
        e.prefecture,
        e.municipality,
        e.municipality_code,
        e.consortium,
        e.support_type,
        e.client_type,
        e.lead_coordinator AS coordinator,
        count(*)       AS sessions,
        0              AS consultations
    FROM sessions AS s
    JOIN engagements AS e ON e.engagement_id = s.engagement_id
    GROUP BY ALL
),
consultation_days AS (
    SELECT
        date,
        fiscal_year,
        prefecture,
        municipality,
        municipality_code,
        consortium,
        support_type,
        client_type,
        coordinator,
        0              AS sessions,
        count(*)       AS consultations
    FROM mart_consultations
    GROUP BY ALL
),
unioned AS (
    SELECT * FROM session_days
    UNION ALL BY NAME
    SELECT * FROM consultation_days
),
placed AS (
    SELECT
        u.* EXCLUDE (municipality_code),
        coalesce(u.municipality_code, m.municipality_code) AS municipality_code
    FROM unioned AS u
    LEFT JOIN (   -- names that identify exactly one municipality in their prefecture
        SELECT prefecture, municipality, any_value(municipality_code) AS municipality_code
        FROM municipalities
        GROUP BY prefecture, municipality
        HAVING count(*) = 1
    ) AS m
        ON u.municipality_code IS NULL AND m.prefecture = u.prefecture AND m.municipality = u.municipality
)
SELECT
    date,
    fiscal_year,
    prefecture,
    municipality_code,
    consortium,
    support_type,
    client_type,
    coordinator,
    CAST(sum(sessions) AS BIGINT)      AS sessions,
    CAST(sum(consultations) AS BIGINT) AS consultations
FROM placed
GROUP BY ALL
