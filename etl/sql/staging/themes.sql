-- Maps each distinct free-text theme item (table `theme_input`: item, audience) onto the taxonomy.
-- An exact theme name wins; otherwise the longest keyword contained in the text, preferring themes of
-- the expected audience (企業 for sessions, 自治体 for consultations). Unmatched items keep theme NULL.
-- Latin keywords (EC, AI, CIO, KPI, RPA, Excel, …) match only as whole tokens: not preceded or followed by
-- another Latin letter or digit, so 'SECURITY ACTION' does not contain 'EC' and 'MAIL' does not contain 'AI'.
-- Keywords with Japanese characters match anywhere in the text (Japanese has no spaces between words).
CREATE OR REPLACE TEMP TABLE theme_resolved AS
WITH items AS (
    SELECT DISTINCT item, audience, lower(item) AS item_lc FROM theme_input WHERE item IS NOT NULL
),
keywords AS (
    SELECT theme, audience, exact, lower(keyword) AS keyword_lc,
           regexp_full_match(keyword, '[A-Za-z0-9]+') AS latin
    FROM theme_keyword
    WHERE keyword IS NOT NULL AND keyword <> ''
),
candidates AS (
    SELECT items.item, items.audience, tk.theme,
           row_number() OVER (
               PARTITION BY items.item, items.audience
               ORDER BY tk.exact DESC,
                        (tk.audience = items.audience OR tk.audience = '共通') DESC,
                        length(tk.keyword_lc) DESC,
                        tk.theme
           ) AS rank
    FROM items
    JOIN keywords tk
      ON contains(items.item_lc, tk.keyword_lc)
     AND (NOT tk.latin
          -- the keyword is [a-z0-9]+ (checked above), so it is safe inside the pattern
          OR regexp_matches(items.item_lc, '(^|[^a-z0-9])' || tk.keyword_lc || '($|[^a-z0-9])'))
)
SELECT items.item, items.audience, candidates.theme
FROM items
LEFT JOIN candidates ON candidates.item = items.item AND candidates.audience = items.audience AND candidates.rank = 1;
