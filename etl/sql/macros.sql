-- Value normalisation macros (see docs: /work/shared/spec/records.md, "Values").
--
-- Every macro takes the raw cell text (VARCHAR), returns NULL for NULL / blank input and NULL when the value
-- cannot be parsed; none of them raises. A caller detects "present but unparseable" as
--     dx_text(raw) IS NOT NULL AND dx_xxx(raw) IS NULL
--
-- Performance notes (these run on millions of rows):
--   * DuckDB's translate() rebuilds its character map for every row, so it costs ~1.6 s per million rows with the
--     full 94-character full-width map. It is therefore only applied to rows that actually contain a full-width
--     (or ideographic-space / NBSP) character, tested first with a cheap RE2 character-class match.
--   * Each macro starts with a fast path for the common, already-clean form (plain ASCII digits, ISO dates, …).
--   * DuckDB's common-subexpression elimination does not look inside CASE branches, so where a slow-path value is
--     needed more than once it is bound once with the "let" idiom  list_transform([expr], lambda x: ...)[1].
--
-- Names starting with dx__ are internal helpers; the public contract is the dx_* macros without a double
-- underscore.

-- ---------------------------------------------------------------------------------------------------------------
-- internal helpers
-- ---------------------------------------------------------------------------------------------------------------

-- Full-width ASCII U+FF01..U+FF5E -> U+0021..U+007E, ideographic space U+3000 and NBSP U+00A0 -> space.
CREATE OR REPLACE MACRO dx__fw_full(s) AS translate(
    s,
    '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～' || chr(12288) || chr(160),
    '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~' || '  '
);

-- Text normalisation for free text (dx_text, dx_list): the full map, only where needed. Pure-ASCII values (the
-- byte length equals the character length, a very cheap test) skip the regular expression; values whose only
-- full-width characters are the parentheses （ ） (names such as 株式会社○○（架空）) or U+3000 / NBSP get a few
-- replace() calls instead of the 96-character translate().
-- Look-alike characters also go (they made two keys that look the same differ: 'E‐001' with U+2010 HYPHEN, or a
-- zero-width space pasted from a web page): the hyphens U+2010..U+2012 and U+2212 MINUS SIGN -> '-' (U+FF0D
-- FULLWIDTH HYPHEN-MINUS is in the full-width map), zero-width space / non-joiner / joiner, word joiner and BOM
-- (U+200B..U+200D, U+2060, U+FEFF) removed. Rare, so only on the full-map branch.
CREATE OR REPLACE MACRO dx__lookalike(s) AS (
    CASE
        WHEN regexp_matches(s, '[\x{2010}-\x{2012}\x{2212}\x{200B}-\x{200D}\x{2060}\x{FEFF}]')
            THEN regexp_replace(translate(s, '‐‑‒−', '----'), '[\x{200B}-\x{200D}\x{2060}\x{FEFF}]', '', 'g')
        ELSE s
    END
);
CREATE OR REPLACE MACRO dx__fw_text(s) AS (
    CASE
        WHEN strlen(s) = length(s) THEN s
        WHEN NOT regexp_matches(s, '[\x{FF01}-\x{FF5E}\x{3000}\x{A0}\x{2010}-\x{2012}\x{2212}\x{200B}-\x{200D}\x{2060}\x{FEFF}]')
            THEN s
        WHEN NOT regexp_matches(s, '[\x{FF01}-\x{FF07}\x{FF0A}-\x{FF5E}\x{2010}-\x{2012}\x{2212}\x{200B}-\x{200D}\x{2060}\x{FEFF}]')
            THEN replace(replace(replace(replace(s, '（', '('), '）', ')'), chr(12288), ' '), chr(160), ' ')
        ELSE dx__lookalike(dx__fw_full(s))
    END
);

-- Normalisation for values that are parsed (numbers, dates, durations, booleans, codes).
-- Rows with full-width letters get the full map; rows with only full-width digits / punctuation get a short map
-- (much cheaper); ASCII rows are passed through. U+2212 MINUS SIGN is also mapped to '-'.
CREATE OR REPLACE MACRO dx__norm(s) AS (
    CASE
        WHEN NOT regexp_matches(s, '[\x{FF01}-\x{FF5E}\x{3000}\x{A0}\x{2212}]') THEN s
        WHEN regexp_matches(s, '[\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}]')
            THEN replace(dx__fw_full(s), chr(8722), '-')
        ELSE translate(
            s,
            '０１２３４５６７８９＋－．，：％／（）＇' || chr(12288) || chr(160) || chr(8722),
            '0123456789+-.,:%/()''' || '  -'
        )
    END
);

-- Base year of a Japanese era name / initial (already lower-cased): 令和n = 2018+n, 平成n = 1988+n, 昭和n = 1925+n.
CREATE OR REPLACE MACRO dx__era_base(era) AS (
    CASE era
        WHEN '令和' THEN 2018 WHEN 'r' THEN 2018
        WHEN '平成' THEN 1988 WHEN 'h' THEN 1988
        WHEN '昭和' THEN 1925 WHEN 's' THEN 1925
    END
);

-- Gregorian year from (era, era-year text) where era-year is digits or 元 (= 1); NULL for year 0.
CREATE OR REPLACE MACRO dx__era_year(era, ey) AS (
    CASE
        WHEN ey = '元' THEN dx__era_base(era) + 1
        WHEN try_cast(ey AS INTEGER) >= 1 THEN dx__era_base(era) + try_cast(ey AS INTEGER)
    END
);

-- ---------------------------------------------------------------------------------------------------------------
-- dx_text(s) -> VARCHAR
-- full-width ASCII -> half-width, U+3000 / NBSP -> space, look-alike hyphens -> '-', zero-width characters removed,
-- trimmed (spaces, tabs, CR, LF); '' -> NULL.
-- Half-width katakana and all other Japanese characters are left untouched; inner spaces are not collapsed.
-- ---------------------------------------------------------------------------------------------------------------
-- trim() with a character list is slow (~0.14 s per million values), so it runs only when the first or last character
-- is a space or control character (ascii() is the first code point); the normalised value is bound once ("let").
-- The trim characters are one literal: a concatenation such as ' ' || chr(9) would be evaluated for every row.
CREATE OR REPLACE MACRO dx_text(s) AS nullif(list_transform(
    [dx__fw_text(CAST(s AS VARCHAR))],
    lambda x: CASE WHEN ascii(x) > 32 AND ascii(right(x, 1)) > 32 THEN x ELSE trim(x, E' \t\r\n') END)[1], '');

-- ---------------------------------------------------------------------------------------------------------------
-- dx_int(s) -> BIGINT
-- digits (half/full width), optional sign, thousands separators in groups of three (',' '，'), surrounding spaces,
-- an optional '.0…' fraction, an optional trailing unit 人 名 回 件 社 分.  '1.5' / 'abc' / '1,2' -> NULL.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO dx__int(s) AS (
    CASE
        WHEN regexp_full_match(s, '[0-9]{1,18}') THEN CAST(s AS BIGINT)
        ELSE try_cast(replace(regexp_extract(
                dx__norm(s),
                '^\s*([+-]?(?:\d{1,3}(?:,\d{3})+|\d+))(?:\.0*)?\s*[人名回件社分]?\s*$',
                1), ',', '') AS BIGINT)
    END
);
CREATE OR REPLACE MACRO dx_int(s) AS dx__int(CAST(s AS VARCHAR));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_number(s) -> DOUBLE
-- like dx_int but decimals allowed ('1.5', '.5', '1,234.5'); optional trailing % (the number itself is returned:
-- '50%' -> 50.0) or unit 人 名 回 件 社 分.  No exponents, no 'nan' / 'inf'.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO dx__number(s) AS (
    CASE
        WHEN regexp_full_match(s, '[0-9]{1,15}(?:\.[0-9]+)?') THEN CAST(s AS DOUBLE)
        ELSE try_cast(replace(regexp_extract(
                dx__norm(s),
                '^\s*([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d*)?)\s*[人名回件社分%]?\s*$',
                1), ',', '') AS DOUBLE)
    END
);
CREATE OR REPLACE MACRO dx_number(s) AS dx__number(CAST(s AS VARCHAR));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_minutes(s) -> INTEGER (minutes)
-- a plain number is minutes ('120', '１２０', '90.0'); '90分' '90min' '90m'; '2時間' '2h' '2hr' '1.5h' '1.5時間'
-- '0.5H'; '1時間30分' '1h30m' '1h30'; '1時間半' (= 90); 'h:mm' and 'h:mm:ss' ('1:30', '1:30:00').
-- Spaces anywhere are ignored; fractions are rounded to the nearest minute.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO dx__minutes(s) AS (
    CASE
        WHEN regexp_full_match(s, '[0-9]{1,6}') THEN CAST(s AS INTEGER)
        ELSE list_transform(
            [regexp_extract(
                replace(dx__norm(s), ' ', ''),
                '(?i)^(?:(\d+(?:\.\d+)?|\.\d+)(?:時間|hours?|hrs?|h)(半)?(?:(\d+)(?:分|minutes?|mins?|m)?)?'
                    || '|(\d+(?:\.\d+)?)(?:分|minutes?|mins?|m)?'
                    || '|(\d{1,3}):([0-5]\d)(?::([0-5]\d(?:\.\d*)?))?)$',
                ['h', 'half', 'hm', 'm', 'ch', 'cm', 'cs'])],
            lambda r: CAST(round(
                CASE
                    WHEN r.h <> '' THEN CAST(r.h AS DOUBLE) * 60
                        + CASE WHEN r.half <> '' THEN 30 ELSE 0 END
                        + coalesce(try_cast(r.hm AS DOUBLE), 0)
                    WHEN r.m <> '' THEN CAST(r.m AS DOUBLE)
                    WHEN r.ch <> '' THEN CAST(r.ch AS DOUBLE) * 60 + CAST(r.cm AS DOUBLE)
                        + coalesce(try_cast(r.cs AS DOUBLE), 0) / 60
                END) AS INTEGER)
        )[1]
    END
);
CREATE OR REPLACE MACRO dx_minutes(s) AS dx__minutes(CAST(s AS VARCHAR));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_bool(s) -> BOOLEAN
-- true : 有 あり 有り アリ ○ 〇 ◯ ● ✓ ✔ はい true t 1 1.0 yes y on 済 済み 同行 同行あり 同行有 同行有り
-- false: 無 なし 無し ナシ × ✕ ✖ x いいえ false f 0 0.0 no n off - ― 未 非同行 同行なし 同行無 同行無し 不同行
-- Latin is case-insensitive; full-width forms and surrounding spaces are accepted.
-- The exact (already clean) spelling is looked up first; only misses are normalised and looked up again.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO dx__bool_lookup(v) AS MAP {
    '1': true, 'true': true, '有': true, 'あり': true, '有り': true, 'アリ': true, '○': true, '〇': true,
    '◯': true, '●': true, '✓': true, '✔': true, 'はい': true, 'yes': true, 'y': true, 't': true, 'on': true,
    '1.0': true, '済': true, '済み': true, '同行': true, '同行あり': true, '同行有': true, '同行有り': true,
    'TRUE': true, 'True': true, 'YES': true, 'Yes': true, 'Y': true,
    '0': false, 'false': false, '無': false, 'なし': false, '無し': false, 'ナシ': false, '×': false,
    '✕': false, '✖': false, 'x': false, 'いいえ': false, 'no': false, 'n': false, 'f': false, 'off': false,
    '0.0': false, '-': false, '―': false, '未': false, '非同行': false, '同行なし': false, '同行無': false,
    '同行無し': false, '不同行': false,
    'FALSE': false, 'False': false, 'NO': false, 'No': false, 'N': false, 'X': false
}[v];

CREATE OR REPLACE MACRO dx__bool(s) AS coalesce(
    dx__bool_lookup(s),
    dx__bool_lookup(lower(trim(dx__norm(s), E' \t\r\n')))
);
CREATE OR REPLACE MACRO dx_bool(s) AS dx__bool(CAST(s AS VARCHAR));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_date(s) -> DATE
-- ISO / slash dates with optional time ('2022-10-05', '2022/10/5', '2022-10-05 00:00:00', '2022-10-05T09:30:00',
-- '2022-10-05T09:30:00+09:00'); '2022.10.5', '2022年10月5日', an optional weekday '(水)' / '（水曜日）';
-- full-width digits; era dates 'R4.10.5' 'R4/10/5' 'R4-10-5' 'r4.10.5' '令和4年10月5日' '令和 4年…' '令和元年5月1日'
-- 'H31.4.30' '平成31年4月30日' (also 昭和 / S); 8 digits '20221005'; an Excel serial day number 20000..80000
-- ('44839', '44839.0' -> 2022-10-05).
-- Years outside 1900..2100 and impossible calendar dates (2022-02-30, R4.13.1) -> NULL. Era boundaries are not
-- enforced (R1.4.1 is read as 2019-04-01).
-- ---------------------------------------------------------------------------------------------------------------

-- Fast path: DuckDB's own DATE cast, only for strings that look like YYYY-M-D / YYYY/M/D (+ optional time). The
-- guard keeps out what the cast would also accept but we must not ('epoch', 'infinity', '22-10-05', '(BC)').
CREATE OR REPLACE MACRO dx__date_fast(s) AS (
    CASE
        WHEN regexp_matches(s,
            '^\s*(?:19|20)\d\d[-/]\d{1,2}[-/]\d{1,2}'
            || '(?:[ Tt]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[zZ]|[+-]\d{2}(?::?\d{2})?)?)?\s*$')
            THEN try_cast(s AS DATE)
    END
);

-- DATE from a year (INTEGER) and month / day text; NULL when out of range or not a calendar date.
CREATE OR REPLACE MACRO dx__ymd(y, m, d) AS (
    CASE WHEN y BETWEEN 1900 AND 2100 THEN try_cast(CAST(y AS VARCHAR) || '-' || m || '-' || d AS DATE) END
);

-- 8 digits (YYYYMMDD) or an Excel serial day number, ASCII digits only (checked on the raw text).
CREATE OR REPLACE MACRO dx__date_digits(s) AS (
    CASE
        WHEN length(s) = 8 THEN dx__ymd(CAST(s[1:4] AS INTEGER), s[5:6], s[7:8])
        WHEN CAST(s[1:5] AS INTEGER) BETWEEN 20000 AND 80000 THEN DATE '1899-12-30' + CAST(s[1:5] AS INTEGER)
    END
);

-- Western dates with 年月日 or '.' separators (n already normalised): rewritten to Y-M-D and cast.
CREATE OR REPLACE MACRO dx__date_western(n) AS (
    CASE
        WHEN regexp_full_match(n,
            '\s*(?:19\d\d|20\d\d|2100)\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?'
            || '\s*(?:\((?:[月火水木金土日](?:曜日?)?)\))?(?:(?:\s+|[tT])\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*')
            THEN try_cast(regexp_replace(n,
                '^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2}).*$', '\1-\2-\3', 's') AS DATE)
    END
);

-- Japanese era dates (n already normalised).
CREATE OR REPLACE MACRO dx__date_era(n) AS list_transform(
    [regexp_extract(
        n,
        '(?i)^\s*(令和|平成|昭和|[rhs])\s*(元|\d{1,2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?'
            || '\s*(?:\((?:[月火水木金土日](?:曜日?)?)\))?\s*$',
        ['era', 'ey', 'm', 'd'])],
    lambda r: CASE WHEN r.era <> '' THEN dx__ymd(dx__era_year(lower(r.era), r.ey), r.m, r.d) END
)[1];

CREATE OR REPLACE MACRO dx__date_slow(s) AS (
    CASE
        WHEN regexp_full_match(s, '[0-9]{8}|[0-9]{5}(?:\.0*)?') THEN dx__date_digits(s)
        WHEN regexp_matches(dx__norm(s), '^\s*\d') THEN dx__date_western(dx__norm(s))
        ELSE dx__date_era(dx__norm(s))
    END
);

CREATE OR REPLACE MACRO dx__date(s) AS coalesce(dx__date_fast(s), dx__date_slow(s));
CREATE OR REPLACE MACRO dx_date(s) AS dx__date(CAST(s AS VARCHAR));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_fiscal_year(s) -> INTEGER (年度)
-- '2022' '２０２２' '2022年度' '2022年' 'FY2022' 'fy 2022' 'R4' 'r4' '令和4' '令和4年度' '令和元年度' (2019) 'H30'
-- '平成30年度' (2018), '2022.0'; only 2000..2100.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO dx__fiscal_year(s) AS (
    CASE
        WHEN regexp_full_match(s, '20[0-9]{2}|2100') THEN CAST(s AS INTEGER)
        ELSE list_transform(
            [regexp_extract(
                replace(dx__norm(s), ' ', ''),
                '(?i)^(?:(?:fy)?(\d{4})(?:\.0*)?(?:年度?)?|(令和|平成|r|h)(元|\d{1,2})(?:年度?)?)$',
                ['y', 'era', 'ey'])],
            lambda r: list_filter(
                [CASE
                    WHEN r.y <> '' THEN CAST(r.y AS INTEGER)
                    WHEN r.era <> '' THEN dx__era_year(lower(r.era), r.ey)
                END],
                lambda y: y BETWEEN 2000 AND 2100)[1]
        )[1]
    END
);
CREATE OR REPLACE MACRO dx_fiscal_year(s) AS dx__fiscal_year(CAST(s AS VARCHAR));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_fiscal_year_of(d) -> INTEGER: the 年度 (April..March) containing DATE d.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO dx__fiscal_year_of(d) AS CAST(year(d) - CASE WHEN month(d) < 4 THEN 1 ELSE 0 END AS INTEGER);
CREATE OR REPLACE MACRO dx_fiscal_year_of(d) AS dx__fiscal_year_of(CAST(d AS DATE));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_list(s) -> VARCHAR[]
-- split on 、 , ， ; ； ／ / and newlines (LF, CRLF, CR); NOT on ・ (part of names such as 経営理念・ミッション).
-- Elements are normalised like dx_text (full-width ASCII -> half-width, U+3000 / NBSP / tab -> space) and
-- trimmed; empty elements are dropped. NULL / blank / separators only -> NULL (never an empty list).
-- ---------------------------------------------------------------------------------------------------------------
-- Fast path: most values have no separator but 、 (string_split instead of a regular expression; the other
-- separators are tested on the raw text: the full-width map turns ， ； ／ into , ; / and nothing else into a
-- separator), and no full-width character but the parentheses （ ） (replace instead of translate).
CREATE OR REPLACE MACRO dx__list_norm(s) AS replace(replace(replace(
    CASE
        WHEN strlen(s) = length(s) THEN s
        -- full-width ASCII other than the separators ， ； ／ and the parentheses （ ）: full map (rare)
        WHEN regexp_matches(s, '[\x{FF01}-\x{FF07}\x{FF0A}\x{FF0B}\x{FF0D}\x{FF0E}\x{FF10}-\x{FF1A}\x{FF1C}-\x{FF5E}]')
            THEN dx__fw_full(s)
        ELSE replace(replace(s, '（', '('), '）', ')')
    END, chr(12288), ' '), chr(160), ' '), chr(9), ' ');

CREATE OR REPLACE MACRO dx__list(s) AS nullif(
    list_filter(
        list_transform(
            CASE
                WHEN regexp_matches(s, '[,，;；／/\r\n]')
                    THEN regexp_split_to_array(dx__list_norm(s), '[、,，;；／/\r\n]')
                ELSE string_split(dx__list_norm(s), '、')
            END,
            lambda e: trim(e)),
        lambda e: e <> ''),
    []
);
CREATE OR REPLACE MACRO dx_list(s) AS dx__list(CAST(s AS VARCHAR));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_code5(s) -> VARCHAR: 5-digit 全国地方公共団体コード (without check digit).
-- Accepts half/full-width digits, a leading apostrophe (Excel text marker), a trailing '.0' (numeric export):
--   6 digits  -> code5 + check digit: the check digit must be right, the first 5 digits are returned;
--   5 digits  -> a code5 when its prefecture part is 01..47; otherwise, if it is a 6-digit code that lost its
--                leading zero (valid check digit), the corresponding code5 ('82279' -> '08227');
--   4 digits  -> a code5 that lost its leading zero ('8227' -> '08227').
-- The prefecture part must be 01..47; whether the code exists is for the caller to check against the reference.
-- Check digit (総務省): 11 - (d1*6 + d2*5 + d3*4 + d4*3 + d5*2) mod 11, last digit.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO dx__code_pref_ok(c) AS try_cast(c[1:2] AS INTEGER) BETWEEN 1 AND 47;

CREATE OR REPLACE MACRO dx__code6_ok(c) AS (
    length(c) = 6 AND dx__code_pref_ok(c) AND
    (11 - (CAST(c[1:1] AS INTEGER) * 6 + CAST(c[2:2] AS INTEGER) * 5 + CAST(c[3:3] AS INTEGER) * 4
           + CAST(c[4:4] AS INTEGER) * 3 + CAST(c[5:5] AS INTEGER) * 2) % 11) % 10 = CAST(c[6:6] AS INTEGER)
);

CREATE OR REPLACE MACRO dx__code5(s) AS list_transform(
    [regexp_extract(dx__norm(s), '^\s*[''’`]?\s*(\d{4,6})(?:\.0*)?\s*$', 1)],
    lambda c: CASE length(c)
        WHEN 4 THEN CASE WHEN dx__code_pref_ok('0' || c) THEN '0' || c END
        WHEN 5 THEN CASE
            WHEN dx__code_pref_ok(c) THEN c
            WHEN dx__code6_ok('0' || c) THEN '0' || c[1:4]
        END
        WHEN 6 THEN CASE WHEN dx__code6_ok(c) THEN c[1:5] END
    END
)[1];
CREATE OR REPLACE MACRO dx_code5(s) AS dx__code5(CAST(s AS VARCHAR));

-- ---------------------------------------------------------------------------------------------------------------
-- dx_name_shape(a, b) -> INTEGER: a tie-break for near-name suggestions ranked by levenshtein(a, b). For names of
-- the same length, the sum over positions of the code-point distance of the characters (capped at 20000 each);
-- NULL for names of different lengths. CJK ideographs are ordered in Unicode by radical, then stroke count, so a
-- mistyped kanji of the same radical or stroke count is near its intended one (盤 U+76E4 → 磐 U+78D0: 492; → 下: 10,457).
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO dx_name_shape(a, b) AS CASE WHEN length(a) = length(b) THEN
    list_sum(list_transform(range(1, length(a) + 1),
        lambda i: least(abs(unicode(substr(a, i, 1)) - unicode(substr(b, i, 1))), 20000))) END;
