-- One row per consultation, with the dimensions the dashboard filters on.
-- consortium / support_type / client_type come from the linked engagement; an unlinked consultation has
-- no consortium, support type 相談会, and a client type guessed from its name (自治体 when it names a municipality).
WITH linked AS (
    SELECT
        c.*,
        e.consortium   AS eng_consortium,
        e.support_type AS eng_support_type,
        e.client_type  AS eng_client_type
    FROM consultations AS c
    LEFT JOIN engagements AS e ON e.engagement_id = c.engagement_id
),
typed AS (
    SELECT
        *,
        coalesce(
            eng_client_type,
            CASE
                WHEN municipality IS NOT NULL AND starts_with(client_name, municipality) THEN '自治体'
                WHEN regexp_matches(client_name, '(都|道|府|県|市|区|町|村)(役所|役場|庁)?$') THEN '自治体'
                ELSE '企業'
            END
        ) AS client_type_resolved
    FROM linked
)
SELECT
    consultation_id,
    date,
    CAST(date_trunc('month', date) AS DATE) AS month,
    fiscal_year,
    client_name,
    client_type_resolved                    AS client_type,
    prefecture,
    prefecture_code,
    municipality,
    municipality_code,
    department,
    slot,
    theme,
    theme_original,
    channel,
    duration_min,
    coordinator,
    engagement_id,
    summary,
    eng_consortium                          AS consortium,
    coalesce(eng_support_type, '相談会')    AS support_type
FROM typed
