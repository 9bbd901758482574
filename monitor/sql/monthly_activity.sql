-- Activity per month of the selection: 伴走支援 sessions, consultations, seminar attendees (and all event attendees).
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types
),
act AS (   -- daily activity in scope
    SELECT a.*
    FROM mart_daily_activity AS a, p
    WHERE (p.fy IS NULL OR a.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, a.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, a.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, a.support_type))
      AND (p.date_from IS NULL OR a.date >= p.date_from)
      AND (p.date_to IS NULL OR a.date <= p.date_to)
)
SELECT
    month,
    CAST(sum(sessions) AS BIGINT)          AS sessions,
    CAST(sum(bank_sessions) AS BIGINT)     AS bank_sessions,
    CAST(sum(consultations) AS BIGINT)     AS consultations,
    CAST(sum(seminar_attendees) AS BIGINT) AS seminar_attendees,
    CAST(sum(event_attendees) AS BIGINT)   AS event_attendees
FROM act
GROUP BY month
ORDER BY month
