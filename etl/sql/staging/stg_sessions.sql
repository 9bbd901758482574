-- staging: sessions (伴走記録) — typed values; stage matched to the seven stages; themes to the taxonomy.
-- Stage and theme texts repeat a lot (a few thousand distinct theme lists in a million rows): both are parsed and
-- mapped once per distinct raw text (`session_theme_texts`, built by the loader before themes.sql, holds the
-- distinct raw theme cells with their dx_text / dx_list values) and joined back by the raw text.
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
        stage                    AS stage_raw,
        dx_list(coordinators)    AS coordinators,
        dx_bool(bank_attended)   AS bank_attended,
        dx_int(attendees)        AS attendees,
        themes                   AS themes_raw,
        nullif(trim(notes), '')  AS notes
    FROM src
),
stage_texts AS (
    SELECT stage_raw, dx_text(stage_raw) AS stage_original
    FROM (SELECT DISTINCT stage AS stage_raw FROM src WHERE stage IS NOT NULL)
),
stage_candidates AS (
    -- exact name, else a keyword inside the text (longest first), else a close spelling
    SELECT st.stage_original, sk.stage_no, sk.stage,
           row_number() OVER (PARTITION BY st.stage_original
                              ORDER BY sk.exact DESC, contains(st.stage_original, sk.keyword) DESC,
                                       length(sk.keyword) DESC,
                                       jaro_winkler_similarity(st.stage_original, sk.keyword) DESC) AS rank
    FROM (SELECT DISTINCT stage_original FROM stage_texts WHERE stage_original IS NOT NULL) st
    JOIN stage_keyword sk
      ON st.stage_original = sk.keyword
      OR contains(st.stage_original, sk.keyword)
      OR jaro_winkler_similarity(st.stage_original, sk.keyword) >= 0.85
),
stage_map AS (
    SELECT st.stage_raw, st.stage_original, sc.stage_no, sc.stage
    FROM stage_texts st
    LEFT JOIN stage_candidates sc ON sc.stage_original = st.stage_original AND sc.rank = 1
),
theme_items AS (
    SELECT tt.themes_raw, items.item, items.pos, tr.theme
    FROM session_theme_texts tt,
         LATERAL (SELECT unnest(tt.theme_items) AS item, generate_subscripts(tt.theme_items, 1) AS pos) items
    LEFT JOIN theme_resolved tr ON tr.item = items.item AND tr.audience = '企業'
),
theme_lists AS (
    -- the canonical themes of each distinct text, in the order written, without repeats
    SELECT themes_raw,
           -- list_distinct() does not keep order: keep each theme's first occurrence instead
           list_transform(
               [list(theme ORDER BY pos) FILTER (WHERE theme IS NOT NULL)],
               lambda l: list_filter(l, lambda x, i: list_position(l, x) = i))[1] AS themes,
           list(item ORDER BY pos) FILTER (WHERE theme IS NULL) AS unmapped_themes
    FROM theme_items
    GROUP BY themes_raw
),
theme_map AS (
    SELECT tt.themes_raw, tt.themes_original, tl.themes, tl.unmapped_themes
    FROM session_theme_texts tt
    LEFT JOIN theme_lists tl USING (themes_raw)
)
SELECT
    typed._src, typed._row,
    typed.engagement_id, typed.session_no, typed.date,
    dx_fiscal_year_of(typed.date) AS fiscal_year,
    typed.duration_min,
    stage_map.stage_no, stage_map.stage, stage_map.stage_original,
    typed.coordinators, typed.bank_attended, typed.attendees,
    theme_map.themes, theme_map.themes_original, typed.notes,
    theme_map.unmapped_themes
FROM typed
LEFT JOIN stage_map ON stage_map.stage_raw = typed.stage_raw
LEFT JOIN theme_map ON theme_map.themes_raw = typed.themes_raw;
