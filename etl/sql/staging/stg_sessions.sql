-- staging: sessions (伴走記録) — typed values; stage matched to the seven stages; themes to the taxonomy.
WITH src AS (
    SELECT * FROM raw_sessions
),
typed AS (
    SELECT
        _src, _row,
        dx_text(engagement_id)   AS engagement_id,
        dx_int(session_no)       AS session_no,
        dx_date(date)            AS date,
        dx_minutes(duration_min) AS duration_min,
        dx_text(stage)           AS stage_original,
        dx_list(coordinators)    AS coordinators,
        dx_bool(bank_attended)   AS bank_attended,
        dx_int(attendees)        AS attendees,
        dx_list(dx_text(themes)) AS theme_items,
        dx_text(themes)          AS themes_original,
        nullif(trim(notes), '')  AS notes
    FROM src
),
stage_texts AS (
    SELECT DISTINCT stage_original FROM typed WHERE stage_original IS NOT NULL
),
stage_candidates AS (
    -- exact name, else a keyword inside the text (longest first), else a close spelling
    SELECT st.stage_original, sk.stage_no, sk.stage,
           row_number() OVER (PARTITION BY st.stage_original
                              ORDER BY sk.exact DESC, contains(st.stage_original, sk.keyword) DESC,
                                       length(sk.keyword) DESC,
                                       jaro_winkler_similarity(st.stage_original, sk.keyword) DESC) AS rank
    FROM stage_texts st
    JOIN stage_keyword sk
      ON st.stage_original = sk.keyword
      OR contains(st.stage_original, sk.keyword)
      OR jaro_winkler_similarity(st.stage_original, sk.keyword) >= 0.85
),
stage_map AS (
    SELECT stage_original, stage_no, stage FROM stage_candidates WHERE rank = 1
),
theme_lists AS (
    -- the canonical themes of each row, in the order written, without repeats
    SELECT typed._src, typed._row,
           -- list_distinct() does not keep order: keep each theme's first occurrence instead
           list_transform(
               [list(tr.theme ORDER BY items.pos) FILTER (WHERE tr.theme IS NOT NULL)],
               lambda l: list_filter(l, lambda x, i: list_position(l, x) = i))[1] AS themes,
           list(items.item ORDER BY items.pos) FILTER (WHERE tr.theme IS NULL) AS unmapped_themes
    FROM typed,
         LATERAL (SELECT unnest(typed.theme_items) AS item, generate_subscripts(typed.theme_items, 1) AS pos) items
    LEFT JOIN theme_resolved tr ON tr.item = items.item AND tr.audience = '企業'
    GROUP BY typed._src, typed._row
)
SELECT
    typed._src, typed._row,
    typed.engagement_id, typed.session_no, typed.date,
    dx_fiscal_year_of(typed.date) AS fiscal_year,
    typed.duration_min,
    stage_map.stage_no, stage_map.stage, typed.stage_original,
    typed.coordinators, typed.bank_attended, typed.attendees,
    theme_lists.themes, typed.themes_original, typed.notes,
    theme_lists.unmapped_themes
FROM typed
LEFT JOIN stage_map USING (stage_original)
LEFT JOIN theme_lists USING (_src, _row);
