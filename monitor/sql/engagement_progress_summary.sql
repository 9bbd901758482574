-- The counts of the 進捗 page over every engagement it lists (planned sessions known or at least one session held),
-- in one row: engagements, in progress, completed, stalled, with at least one session; and the data's as-of date.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
eng AS (
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)
      AND (m.planned_sessions IS NOT NULL OR m.sessions_done > 0)
)
SELECT
    count(*)                                     AS engagements,
    count(*) FILTER (WHERE status = '実施中')     AS in_progress,
    count(*) FILTER (WHERE status = '完了')       AS completed,
    count(*) FILTER (WHERE stalled)              AS stalled,
    count(*) FILTER (WHERE sessions_done > 0)    AS with_sessions,
    max(as_of_date)                              AS as_of_date
FROM eng
