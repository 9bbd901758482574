-- The session log of one engagement ($engagement_id): date, stage, themes, bank attended, notes.
SELECT
    s.session_no,
    s.date,
    s.duration_min,
    s.stage_no,
    coalesce(s.stage, s.stage_original)                 AS stage,
    array_to_string(s.coordinators, '、')               AS coordinators,
    s.bank_attended,
    s.attendees,
    coalesce(nullif(array_to_string(list_distinct(s.themes), '、'), ''), s.themes_original) AS themes,
    s.notes
FROM sessions AS s
WHERE s.engagement_id = CAST($engagement_id AS VARCHAR)
ORDER BY s.session_no
