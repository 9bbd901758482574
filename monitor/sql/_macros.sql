-- The filter predicates of the read-side queries, defined once. Not a query (run_query refuses names starting with
-- '_'): monitor/db.py runs this file on every read connection and cursor, so the macros are TEMP (the database is
-- attached READ_ONLY) and every query can call them.
--
-- The macros take the filter values as arguments (a macro cannot read $parameters): a query still binds $fy,
-- $prefectures, … as named parameters, into its CTE p (FROM dx_filter_params(...)), and passes p's columns on.
-- They expand in place, so a query plans exactly as if the expression were written out.
--
-- Empty list = no restriction. A record whose value is NULL (e.g. consortium NULL = outside any consortium) is in
-- scope only when that list is empty (list_contains(list, NULL) is NULL).

-- The standard filter parameters, typed: one row (fy, prefectures, consortia, date_from, date_to, support_types,
-- coordinators).
--     WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types,
--                                      $coordinators))
CREATE OR REPLACE TEMP MACRO dx_filter_params(fy, prefectures, consortia, date_from, date_to, support_types,
                                              coordinators) AS TABLE
    SELECT
        CAST(fy AS INTEGER)               AS fy,
        CAST(prefectures AS VARCHAR[])    AS prefectures,
        CAST(consortia AS VARCHAR[])      AS consortia,
        CAST(date_from AS DATE)           AS date_from,
        CAST(date_to AS DATE)             AS date_to,
        CAST(support_types AS VARCHAR[])  AS support_types,
        CAST(coordinators AS VARCHAR[])   AS coordinators;

-- value is one of the chosen ones, or nothing is chosen.
CREATE OR REPLACE TEMP MACRO dx_in_selection(value, chosen) AS
    (len(chosen) = 0 OR list_contains(chosen, value));

-- The record's 年度 / 都道府県 / コンソーシアム / 支援種別 / 担当ITC pass the filters (fy NULL = every year). Not
-- the 期間: see dx_in_period / dx_overlaps_period. coordinator: the marts' column (主担当ITC of an engagement and its
-- sessions, 対応ITC of a consultation, NULL for events).
CREATE OR REPLACE TEMP MACRO dx_in_filters(fiscal_year, prefecture, consortium, support_type, coordinator,
                                           fy, prefectures, consortia, support_types, coordinators) AS (
    (fy IS NULL OR fiscal_year = fy)
    AND dx_in_selection(prefecture, prefectures)
    AND dx_in_selection(consortium, consortia)
    AND dx_in_selection(support_type, support_types)
    AND dx_in_selection(coordinator, coordinators)
);

-- A dated record (session, consultation, activity day, deliverable) is in the 期間 by its own date; an undated one
-- is in no 期間 (but in scope when no 期間 is set).
CREATE OR REPLACE TEMP MACRO dx_in_period(d, date_from, date_to) AS
    ((date_from IS NULL OR d >= date_from) AND (date_to IS NULL OR d <= date_to));

-- An engagement is in a 期間 its span [span_start, span_end] overlaps (案件数, data/reference/indicators.csv). Not
-- started (span_start NULL): in no 期間 with an end.
CREATE OR REPLACE TEMP MACRO dx_overlaps_period(span_start, span_end, date_from, date_to) AS (
    (date_to IS NULL OR span_start <= date_to)
    AND (date_from IS NULL OR span_end >= date_from)
);

-- 報告 (report_*.sql): one 年度 (required) and one コンソーシアム, or the whole programme when report_consortium is
-- NULL (records outside any consortium included only then).
CREATE OR REPLACE TEMP MACRO dx_in_report(fiscal_year, consortium, fy, report_consortium) AS
    (fiscal_year = fy AND (report_consortium IS NULL OR consortium = report_consortium));
