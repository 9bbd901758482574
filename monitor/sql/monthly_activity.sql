-- Activity per month of the selection: 伴走支援 sessions, consultations, seminar attendees (and all event attendees).
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
act AS (   -- daily activity in scope
    SELECT a.*
    FROM mart_daily_activity AS a, p
    WHERE dx_in_filters(a.fiscal_year, a.prefecture, a.consortium, a.support_type, a.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(a.date, p.date_from, p.date_to)
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
