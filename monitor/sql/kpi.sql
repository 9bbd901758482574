-- KPIs against targets: one row for the whole selection (is_total) and one per consortium (consortium NULL and
-- is_total false = records outside any consortium, e.g. municipal support). Every indicator follows its rule in
-- data/reference/indicators.csv (the glossary); the ids there name the columns here:
--   companies                  支援企業数: distinct 企業 clients of the engagements with a session held in the selection
--   companies_completed / _cancelled   うち完了 / 中止: those of them whose engagement is 完了 / 中止
--   planned_engagements        予定 N件: engagements 予定 with no session held (not counted as companies)
--   sessions                   伴走支援 実施回数: sessions in the selection (their own date and 年度)
--   planned_sessions           伴走支援 予定回数: planned sessions of the engagements counted in companies (中止 too)
--   dx_plans                   DX計画書策定数 (mart_engagement_progress.is_dx_plan), completion date in the 期間
--   seminar_attendees          セミナー参加者数
--   consultations              相談件数
--   bank_rate                  金融機関同行率
--   engagements, stalled       案件数, 停滞
-- A session is in the selection when its date is in the 期間 and in the 年度, and its engagement passes the other
-- filters. Targets (targets table): for a consortium row its own; for the total the programme-wide row ('') of each
-- year unless 都道府県/コンソーシアム narrow the selection (or no programme-wide row exists), then the sum of the
-- consortia in scope. Rates (indicators ending in 率) are averaged, counts summed. Targets are per fiscal year and
-- are not prorated to a 期間. With 担当ITC chosen there are no targets: they are set for consortia, not for a person.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)   -- not started (no date) = in no period
),
act AS (   -- daily activity in scope
    SELECT a.*
    FROM mart_daily_activity AS a, p
    WHERE dx_in_filters(a.fiscal_year, a.prefecture, a.consortium, a.support_type, a.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(a.date, p.date_from, p.date_to)
),
held AS (   -- engagements with at least one session in the selection, and how many
    SELECT m.engagement_id, m.consortium, m.client_name, m.client_type, m.status, m.planned_sessions,
           count(*) AS sessions
    FROM sessions AS s
    JOIN mart_engagement_progress AS m ON m.engagement_id = s.engagement_id, p
    WHERE dx_in_filters(s.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(s.date, p.date_from, p.date_to)
    GROUP BY ALL
),
held_k AS (
    SELECT
        grouping(consortium) = 1                                                                AS is_total,
        consortium,
        count(DISTINCT client_name) FILTER (WHERE client_type = '企業')                         AS companies,
        count(DISTINCT client_name) FILTER (WHERE client_type = '企業' AND status = '完了')      AS companies_completed,
        count(DISTINCT client_name) FILTER (WHERE client_type = '企業' AND status = '中止')      AS companies_cancelled,
        sum(planned_sessions)                                                                   AS planned_sessions,
        sum(sessions)                                                                           AS held_sessions
    FROM held
    GROUP BY GROUPING SETS ((consortium), ())
),
eng_k AS (
    SELECT
        grouping(e.consortium) = 1                                                              AS is_total,
        e.consortium,
        count(*) FILTER (WHERE e.is_dx_plan AND dx_in_period(e.deliverable_date, p.date_from, p.date_to)) AS dx_plans,
        count(*) FILTER (WHERE e.status = '予定' AND e.sessions_done = 0)                       AS planned_engagements,
        count(*)                                                                                AS engagements,
        count(*) FILTER (WHERE e.stalled)                                                       AS stalled
    FROM eng AS e, p
    GROUP BY GROUPING SETS ((e.consortium), ())
),
act_k AS (
    SELECT
        grouping(consortium) = 1     AS is_total,
        consortium,
        sum(sessions)                AS sessions,
        sum(bank_sessions)           AS bank_sessions,
        sum(bank_known_sessions)     AS bank_known_sessions,
        sum(consultations)           AS consultations,
        sum(seminar_attendees)       AS seminar_attendees
    FROM act
    GROUP BY GROUPING SETS ((consortium), ())
),
tgt_rows AS (
    SELECT
        t.fiscal_year,
        t.consortium,
        t.indicator,
        t.target,
        t.consortium <> ''
            AND dx_in_selection(t.consortium, p.consortia)
            AND dx_in_selection(k.prefecture, p.prefectures)                        AS consortium_in_scope,
        len(p.consortia) > 0 OR len(p.prefectures) > 0                              AS narrowed
    FROM targets AS t
    CROSS JOIN p
    LEFT JOIN consortia AS k ON k.consortium = t.consortium
    WHERE (p.fy IS NULL OR t.fiscal_year = p.fy) AND len(p.coordinators) = 0
),
tgt_year AS (
    SELECT
        fiscal_year,
        indicator,
        bool_or(narrowed)                                         AS narrowed,
        CASE WHEN indicator LIKE '%率' THEN avg(target) FILTER (WHERE consortium = '')
             ELSE sum(target) FILTER (WHERE consortium = '') END       AS programme_target,
        CASE WHEN indicator LIKE '%率' THEN avg(target) FILTER (WHERE consortium_in_scope)
             ELSE sum(target) FILTER (WHERE consortium_in_scope) END   AS consortia_target
    FROM tgt_rows
    GROUP BY fiscal_year, indicator
),
tgt_long AS (
    SELECT true AS is_total, CAST(NULL AS VARCHAR) AS consortium, indicator,
           CASE WHEN indicator LIKE '%率' THEN avg(year_target) ELSE sum(year_target) END AS target
    FROM (
        SELECT indicator,
               CASE WHEN narrowed THEN consortia_target ELSE coalesce(programme_target, consortia_target) END AS year_target
        FROM tgt_year
    )
    GROUP BY indicator
    UNION ALL
    SELECT false, consortium, indicator,
           CASE WHEN indicator LIKE '%率' THEN avg(target) ELSE sum(target) END
    FROM tgt_rows
    WHERE consortium_in_scope
    GROUP BY consortium, indicator
),
tgt AS (
    SELECT
        is_total,
        consortium,
        max(target) FILTER (WHERE indicator = '支援企業数')         AS target_companies,
        max(target) FILTER (WHERE indicator = '伴走回数')           AS target_sessions,
        max(target) FILTER (WHERE indicator = 'DX計画書策定数')     AS target_dx_plans,
        max(target) FILTER (WHERE indicator = 'セミナー参加者数')   AS target_seminar_attendees,
        max(target) FILTER (WHERE indicator = '相談件数')           AS target_consultations,
        max(target) FILTER (WHERE indicator = '金融機関同行率')     AS target_bank_rate
    FROM tgt_long
    GROUP BY ALL
),
scopes AS (
    SELECT true AS is_total, CAST(NULL AS VARCHAR) AS consortium
    UNION
    SELECT false, consortium FROM eng_k WHERE NOT is_total
    UNION
    SELECT false, consortium FROM held_k WHERE NOT is_total
    UNION
    SELECT false, consortium FROM act_k WHERE NOT is_total
    UNION
    SELECT false, consortium FROM tgt WHERE NOT is_total
)
SELECT
    s.is_total,
    s.consortium,
    coalesce(h.companies, 0)                      AS companies,
    coalesce(h.companies_completed, 0)            AS companies_completed,
    coalesce(h.companies_cancelled, 0)            AS companies_cancelled,
    coalesce(e.planned_engagements, 0)            AS planned_engagements,
    CAST(coalesce(a.sessions, 0) AS BIGINT)       AS sessions,
    CAST(coalesce(h.planned_sessions, 0) AS BIGINT) AS planned_sessions,
    coalesce(e.dx_plans, 0)                       AS dx_plans,
    CAST(coalesce(a.seminar_attendees, 0) AS BIGINT) AS seminar_attendees,
    CAST(coalesce(a.consultations, 0) AS BIGINT)  AS consultations,
    CAST(coalesce(a.bank_sessions, 0) AS BIGINT)  AS bank_sessions,
    CAST(coalesce(a.bank_known_sessions, 0) AS BIGINT) AS bank_known_sessions,
    CASE WHEN a.bank_known_sessions > 0 THEN a.bank_sessions / a.bank_known_sessions END AS bank_rate,
    coalesce(e.engagements, 0)                    AS engagements,
    coalesce(e.stalled, 0)                        AS stalled,
    t.target_companies,
    t.target_sessions,
    t.target_dx_plans,
    t.target_seminar_attendees,
    t.target_consultations,
    t.target_bank_rate
FROM scopes AS s
LEFT JOIN eng_k AS e ON e.is_total = s.is_total AND e.consortium IS NOT DISTINCT FROM s.consortium
LEFT JOIN held_k AS h ON h.is_total = s.is_total AND h.consortium IS NOT DISTINCT FROM s.consortium
LEFT JOIN act_k AS a ON a.is_total = s.is_total AND a.consortium IS NOT DISTINCT FROM s.consortium
LEFT JOIN tgt   AS t ON t.is_total = s.is_total AND t.consortium IS NOT DISTINCT FROM s.consortium
LEFT JOIN mart_consortia AS mc ON mc.consortium = s.consortium   -- list order: by home prefecture (北海道 … 沖縄)
ORDER BY s.is_total DESC, s.consortium IS NULL, mc.list_order NULLS LAST, s.consortium
