-- One row per 伴走支援 session × theme (canonical taxonomy names; a theme named twice in one session counts once),
-- with the engagement's dimensions. Sessions without a theme have no row. No free text here (the original theme text
-- of a session is in sessions.themes_original and, per theme, in mart_theme_records): no page reads it from this
-- mart, and copying it for every session × theme was a large part of the mart's cost.
WITH exploded AS (
    SELECT
        s.engagement_id,
        s.session_no,
        s.date,
        s.fiscal_year,
        s.stage_no,
        s.bank_attended,
        unnest(list_distinct(s.themes)) AS theme
    FROM sessions AS s
    WHERE len(s.themes) > 0
)
SELECT
    x.engagement_id,
    x.session_no,
    x.date,
    CAST(date_trunc('month', x.date) AS DATE)   AS month,
    x.fiscal_year,
    x.theme,
    t.theme_id,
    t.audience,
    t.sort_order                                AS theme_sort_order,
    x.stage_no,
    x.bank_attended,
    e.client_name,
    e.client_type,
    e.prefecture,
    e.prefecture_code,
    e.municipality,
    e.municipality_code,
    e.consortium,
    e.support_type
FROM exploded AS x
JOIN engagements AS e ON e.engagement_id = x.engagement_id
LEFT JOIN themes AS t ON t.theme = x.theme
WHERE x.theme IS NOT NULL
