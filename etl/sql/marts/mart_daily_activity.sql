-- Activity per day × fiscal year × prefecture × consortium × support type × coordinator: 伴走支援 sessions (and how
-- many had a bank attending), consultations, events and their attendees. Small enough to filter and roll up per month.
-- coordinator (the 担当ITC filter): a session's engagement's 主担当ITC, a consultation's 対応ITC; events have none.
-- Events carry a support type only where one fits (相談会 → 相談会, 職員研修/基礎研修 → 研修); seminars have none.
WITH session_days AS (
    SELECT
        s.date,
        s.fiscal_year,
        e.prefecture,
        e.consortium,
        e.support_type,
        e.lead_coordinator                             AS coordinator,
        count(*)                                       AS sessions,
        count(*) FILTER (WHERE s.bank_attended)        AS bank_sessions,
        count(s.bank_attended)                         AS bank_known_sessions
    FROM sessions AS s
    JOIN engagements AS e ON e.engagement_id = s.engagement_id
    GROUP BY ALL
),
consultation_days AS (
    SELECT date, fiscal_year, prefecture, consortium, support_type, coordinator, count(*) AS consultations
    FROM mart_consultations
    GROUP BY ALL
),
event_days AS (
    SELECT
        date,
        fiscal_year,
        prefecture,
        consortium,
        CASE kind WHEN '相談会' THEN '相談会' WHEN '職員研修' THEN '研修' WHEN '基礎研修' THEN '研修' END AS support_type,
        count(*)                                                     AS events,
        count(*) FILTER (WHERE kind LIKE '%セミナー%')               AS seminars,
        coalesce(sum(attendees), 0)                                  AS event_attendees,
        coalesce(sum(attendees) FILTER (WHERE kind LIKE '%セミナー%'), 0) AS seminar_attendees
    FROM events
    GROUP BY ALL
),
unioned AS (
    SELECT * FROM session_days
    UNION ALL BY NAME
    SELECT * FROM consultation_days
    UNION ALL BY NAME
    SELECT * FROM event_days
)
SELECT
    date,
    CAST(date_trunc('month', date) AS DATE)        AS month,
    fiscal_year,
    prefecture,
    consortium,
    support_type,
    coordinator,
    CAST(coalesce(sum(sessions), 0) AS BIGINT)            AS sessions,
    CAST(coalesce(sum(bank_sessions), 0) AS BIGINT)       AS bank_sessions,
    CAST(coalesce(sum(bank_known_sessions), 0) AS BIGINT) AS bank_known_sessions,
    CAST(coalesce(sum(consultations), 0) AS BIGINT)       AS consultations,
    CAST(coalesce(sum(events), 0) AS BIGINT)              AS events,
    CAST(coalesce(sum(seminars), 0) AS BIGINT)            AS seminars,
    CAST(coalesce(sum(event_attendees), 0) AS BIGINT)     AS event_attendees,
    CAST(coalesce(sum(seminar_attendees), 0) AS BIGINT)   AS seminar_attendees
FROM unioned
GROUP BY ALL
