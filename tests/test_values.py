"""Value normalisation macros (etl/sql/macros.sql) against a real in-memory DuckDB.

Each macro gets a table of (input, expected) pairs: every format in records.md "Values" and in the macro brief,
invalid inputs (-> NULL) and NULL / '' / blanks (-> NULL).
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from etl.macros import PUBLIC_MACROS, install_macros

D = dt.date
BLANKS = [(None, None), ("", None), ("   ", None), ("\u3000", None)]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    install_macros(c)
    yield c
    c.close()


def call(con, macro, value):
    return con.execute(f"SELECT {macro}(?)", [value]).fetchone()[0]


# --------------------------------------------------------------------------------------------------- dx_text
TEXT = BLANKS + [
    ("abc", "abc"),
    ("  abc  ", "abc"),
    ("ＡＢＣ１２３", "ABC123"),
    ("ｄｘ推進", "dx推進"),
    ("\u3000筑西市\u3000", "筑西市"),
    ("山田\u3000太郎", "山田 太郎"),
    ("a\u00a0b", "a b"),
    ("！＂＃＄％＆＇（）＊＋，－．／：；＜＝＞？＠［＼］＾＿｀｛｜｝～", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    ("ｶﾀｶﾅ", "ｶﾀｶﾅ"),  # half-width katakana untouched
    ("カタカナ・ひらがな・漢字", "カタカナ・ひらがな・漢字"),
    ("経営理念・ミッション", "経営理念・ミッション"),
    ("a  b", "a  b"),  # inner spaces not collapsed
    ("line1\nline2\n", "line1\nline2"),
    ("\t x \r\n", "x"),
]


@pytest.mark.parametrize("value,expected", TEXT)
def test_dx_text(con, value, expected):
    assert call(con, "dx_text", value) == expected


# --------------------------------------------------------------------------------------------------- dx_int
INT = BLANKS + [
    ("0", 0),
    ("120", 120),
    ("１２０", 120),
    (" 120 ", 120),
    ("\u3000１２０\u3000", 120),
    ("+5", 5),
    ("-5", -5),
    ("－５", -5),
    ("\u22125", -5),
    ("1,234", 1234),
    ("１，２３４", 1234),
    ("1，234", 1234),
    ("1,234,567", 1234567),
    ("120.0", 120),
    ("120.", 120),
    ("１２０．０", 120),
    ("12人", 12),
    ("12 名", 12),
    ("3回", 3),
    ("5件", 5),
    ("4社", 4),
    ("90分", 90),
    ("１，２００人", 1200),
    ("007", 7),
    ("9223372036854775807", 9223372036854775807),
    ("1.5", None),
    ("abc", None),
    ("12abc", None),
    ("1,2", None),
    ("1,2345", None),
    (",123", None),
    ("1e3", None),
    ("0x1F", None),
    ("1_000", None),
    ("12人名", None),
    ("12円", None),
    ("-", None),
    ("99999999999999999999", None),
]


@pytest.mark.parametrize("value,expected", INT)
def test_dx_int(con, value, expected):
    assert call(con, "dx_int", value) == expected


# --------------------------------------------------------------------------------------------------- dx_number
NUMBER = BLANKS + [
    ("120", 120.0),
    ("１２０", 120.0),
    ("1.5", 1.5),
    ("１．５", 1.5),
    (".5", 0.5),
    ("-2.25", -2.25),
    ("1,234.5", 1234.5),
    ("１，２３４．５", 1234.5),
    ("50%", 50.0),
    ("５０％", 50.0),
    ("12.5 %", 12.5),
    ("3人", 3.0),
    (" 7 ", 7.0),
    ("abc", None),
    ("-", None),
    (".", None),
    ("1.2.3", None),
    ("nan", None),
    ("inf", None),
    ("1e3", None),
    ("1,23.4", None),
    ("50%%", None),
]


@pytest.mark.parametrize("value,expected", NUMBER)
def test_dx_number(con, value, expected):
    assert call(con, "dx_number", value) == expected


# --------------------------------------------------------------------------------------------------- dx_minutes
MINUTES = BLANKS + [
    ("120", 120),
    ("１２０", 120),
    (" 60 ", 60),
    ("90.0", 90),
    ("90分", 90),
    ("９０分", 90),
    ("90 min", 90),
    ("90mins", 90),
    ("90m", 90),
    ("2時間", 120),
    ("２時間", 120),
    ("1時間30分", 90),
    ("1 時間 30 分", 90),
    ("1時間半", 90),
    ("1.5h", 90),
    ("1.5時間", 90),
    ("2h", 120),
    ("2H", 120),
    ("2hr", 120),
    ("2 hours", 120),
    ("0.5H", 30),
    ("０．５ｈ", 30),
    ("1h30m", 90),
    ("1h30", 90),
    ("1:30", 90),
    ("１：３０", 90),
    ("0:45", 45),
    ("1:30:00", 90),
    ("1.25h", 75),
    ("abc", None),
    ("1:75", None),
    ("-30", None),
    ("時間", None),
    ("1.5.h", None),
    ("30秒", None),
    ("h", None),
]


@pytest.mark.parametrize("value,expected", MINUTES)
def test_dx_minutes(con, value, expected):
    assert call(con, "dx_minutes", value) == expected


# --------------------------------------------------------------------------------------------------- dx_bool
BOOL_TRUE = ["有", "あり", "有り", "○", "〇", "◯", "はい", "TRUE", "true", "True", "1", "yes", "Yes", "YES", "Y", "y",
             "済", "同行", "ＴＲＵＥ", "１", "ｙｅｓ", " 有 ", "\u3000○\u3000", "1.0", "tRuE"]
BOOL_FALSE = ["無", "なし", "無し", "×", "✕", "ｘ", "x", "X", "いいえ", "FALSE", "false", "False", "0", "no", "No", "NO",
              "N", "n", "-", "－", "非同行", "０", "ＦＡＬＳＥ", " 無 ", "0.0"]
BOOL = BLANKS + [(v, True) for v in BOOL_TRUE] + [(v, False) for v in BOOL_FALSE] + [
    ("maybe", None),
    ("2", None),
    ("有無", None),
    ("yesno", None),
    ("△", None),
]


@pytest.mark.parametrize("value,expected", BOOL)
def test_dx_bool(con, value, expected):
    assert call(con, "dx_bool", value) is expected


# --------------------------------------------------------------------------------------------------- dx_date
OCT5 = D(2022, 10, 5)
DATE = BLANKS + [
    ("2022-10-05", OCT5),
    ("2022-10-5", OCT5),
    (" 2022-10-05 ", OCT5),
    ("2022/10/05", OCT5),
    ("2022/10/5", OCT5),
    ("2022.10.5", OCT5),
    ("2022.10.05", OCT5),
    ("2022年10月5日", OCT5),
    ("2022年 10月 5日", OCT5),
    ("２０２２年１０月５日", OCT5),
    ("２０２２－１０－０５", OCT5),
    ("２０２２／１０／５", OCT5),
    ("2022/10/5(水)", OCT5),
    ("2022年10月5日（水）", OCT5),
    ("2022年10月5日(水曜日)", OCT5),
    ("R4.10.5", OCT5),
    ("R4/10/5", OCT5),
    ("R4-10-5", OCT5),
    ("R04.10.05", OCT5),
    ("r4.10.5", OCT5),
    ("Ｒ４．１０．５", OCT5),
    ("令和4年10月5日", OCT5),
    ("令和４年１０月５日", OCT5),
    ("令和 4年10月5日", OCT5),
    ("令和\u30004年10月5日", OCT5),
    ("令和元年5月1日", D(2019, 5, 1)),
    ("R1.5.1", D(2019, 5, 1)),
    ("H31.4.30", D(2019, 4, 30)),
    ("h31.4.30", D(2019, 4, 30)),
    ("平成31年4月30日", D(2019, 4, 30)),
    ("平成元年1月8日", D(1989, 1, 8)),
    ("S64.1.7", D(1989, 1, 7)),
    ("2022-10-05 00:00:00", OCT5),
    ("2022-10-05T09:30:00", OCT5),
    ("2022-10-05T09:30:00+09:00", OCT5),
    ("2022-10-05 09:30:00.123", OCT5),
    ("2022/10/5 9:30", OCT5),
    ("2022年10月5日 9:30", OCT5),
    ("44839", OCT5),
    ("44839.0", OCT5),
    ("20000", D(1954, 10, 3)),
    ("80000", D(2119, 1, 11)),
    ("20221005", OCT5),
    ("2024-02-29", D(2024, 2, 29)),
    ("R6.2.29", D(2024, 2, 29)),
    # invalid
    ("2022-02-30", None),
    ("2022-13-01", None),
    ("2023-02-29", None),
    ("R5.2.29", None),
    ("R4.13.1", None),
    ("令和4年2月30日", None),
    ("R0.10.5", None),
    ("20221305", None),
    ("19999", None),
    ("80001", None),
    ("44839.5", None),
    ("12345678", None),
    ("22-10-05", None),
    ("10/05/2022", None),
    ("2022-10", None),
    ("2022年10月", None),
    ("epoch", None),
    ("infinity", None),
    ("today", None),
    ("2022-10-05 (BC)", None),
    ("1800-01-01", None),
    ("X4.10.5", None),
    ("abc", None),
    ("2022-10-05 garbage", None),
]


@pytest.mark.parametrize("value,expected", DATE)
def test_dx_date(con, value, expected):
    assert call(con, "dx_date", value) == expected


# --------------------------------------------------------------------------------------------------- dx_fiscal_year
FY = BLANKS + [
    ("2022", 2022),
    ("２０２２", 2022),
    (" 2022 ", 2022),
    ("2022.0", 2022),
    ("R4", 2022),
    ("r4", 2022),
    ("Ｒ４", 2022),
    ("R04", 2022),
    ("令和4年度", 2022),
    ("令和４年度", 2022),
    ("令和 4 年度", 2022),
    ("令和4", 2022),
    ("令和4年", 2022),
    ("令和元年度", 2019),
    ("R元", 2019),
    ("2022年度", 2022),
    ("FY2022", 2022),
    ("fy 2022", 2022),
    ("ＦＹ２０２２", 2022),
    ("H30", 2018),
    ("平成30年度", 2018),
    ("平成12年度", 2000),
    ("2000", 2000),
    ("2100", 2100),
    # invalid / out of range
    ("1999", None),
    ("2101", None),
    ("H11", None),
    ("R0", None),
    ("22", None),
    ("2022-23", None),
    ("令和", None),
    ("X4", None),
    ("abc", None),
    ("2022年度上期", None),
]


@pytest.mark.parametrize("value,expected", FY)
def test_dx_fiscal_year(con, value, expected):
    assert call(con, "dx_fiscal_year", value) == expected


# --------------------------------------------------------------------------------------------------- dx_fiscal_year_of
FY_OF = [
    (None, None),
    (D(2022, 4, 1), 2022),
    (D(2022, 10, 5), 2022),
    (D(2022, 12, 31), 2022),
    (D(2023, 1, 1), 2022),
    (D(2023, 3, 31), 2022),
    (D(2023, 4, 1), 2023),
]


@pytest.mark.parametrize("value,expected", FY_OF)
def test_dx_fiscal_year_of(con, value, expected):
    assert con.execute("SELECT dx_fiscal_year_of(?::DATE)", [value]).fetchone()[0] == expected


def test_dx_fiscal_year_of_untyped_null_and_timestamp(con):
    assert con.execute("SELECT dx_fiscal_year_of(NULL)").fetchone()[0] is None
    assert con.execute("SELECT dx_fiscal_year_of(TIMESTAMP '2023-03-31 23:59:59')").fetchone()[0] == 2022
    assert con.execute("SELECT dx_fiscal_year_of(dx_date('R5.3.31'))").fetchone()[0] == 2022


# --------------------------------------------------------------------------------------------------- dx_list
LIST = BLANKS + [
    ("山田", ["山田"]),
    (" 山田 ", ["山田"]),
    ("山田、佐藤", ["山田", "佐藤"]),
    ("山田,佐藤", ["山田", "佐藤"]),
    ("山田，佐藤", ["山田", "佐藤"]),
    ("山田;佐藤", ["山田", "佐藤"]),
    ("山田；佐藤", ["山田", "佐藤"]),
    ("山田／佐藤", ["山田", "佐藤"]),
    ("山田/佐藤", ["山田", "佐藤"]),
    ("山田\n佐藤", ["山田", "佐藤"]),
    ("山田\r\n佐藤", ["山田", "佐藤"]),
    ("山田\r佐藤", ["山田", "佐藤"]),
    ("山田 、 佐藤 ,鈴木", ["山田", "佐藤", "鈴木"]),
    ("\u3000山田\u3000、\u3000佐藤\u3000", ["山田", "佐藤"]),
    ("山田\u3000太郎、佐藤\u3000花子", ["山田 太郎", "佐藤 花子"]),
    ("山田、、佐藤、", ["山田", "佐藤"]),
    ("、山田", ["山田"]),
    ("経営理念・ミッション", ["経営理念・ミッション"]),
    ("経営理念・ミッション、業務フロー整理", ["経営理念・ミッション", "業務フロー整理"]),
    ("ＩＴＣ山田、ＤＸ推進", ["ITC山田", "DX推進"]),
    ("a;b／c、d,e\nf", ["a", "b", "c", "d", "e", "f"]),
    ("、", None),
    ("、 , ;", None),
    ("\n\n", None),
]


@pytest.mark.parametrize("value,expected", LIST)
def test_dx_list(con, value, expected):
    assert call(con, "dx_list", value) == expected


# --------------------------------------------------------------------------------------------------- dx_code5
CODE5 = BLANKS + [
    ("08227", "08227"),        # 筑西市
    ("082279", "08227"),       # with check digit
    ("８２２７", "08227"),
    ("０８２２７９", "08227"),
    ("'08227", "08227"),       # Excel text marker
    ("'082279", "08227"),
    ("8227", "08227"),         # lost leading zero (code5)
    ("82279", "08227"),        # lost leading zero (code6)
    ("8227.0", "08227"),
    ("08227.0", "08227"),
    (" 13101 ", "13101"),      # 千代田区
    ("131016", "13101"),
    ("011002", "01100"),       # 札幌市
    ("11002", "11002"),        # a valid-looking code5 is taken as a code5
    ("47201", "47201"),
    ("472018", "47201"),       # 那覇市
    # invalid
    ("131017", None),          # wrong check digit
    ("082270", None),
    ("48201", None),           # prefecture 48
    ("00100", None),
    ("0822", None),            # 4 digits starting with 0
    ("123", None),
    ("1234567", None),
    ("08-227", None),
    ("筑西市", None),
    ("abc", None),
]


@pytest.mark.parametrize("value,expected", CODE5)
def test_dx_code5(con, value, expected):
    assert call(con, "dx_code5", value) == expected


# --------------------------------------------------------------------------------------------------- general
@pytest.mark.parametrize("macro", [m for m in PUBLIC_MACROS if m != "dx_fiscal_year_of"])
def test_untyped_null_literal(con, macro):
    assert con.execute(f"SELECT {macro}(NULL)").fetchone()[0] is None


def test_return_types(con):
    row = con.execute(
        "SELECT typeof(dx_text('a')), typeof(dx_int('1')), typeof(dx_number('1')), typeof(dx_minutes('1')),"
        " typeof(dx_bool('1')), typeof(dx_date('2022-10-05')), typeof(dx_fiscal_year('2022')),"
        " typeof(dx_fiscal_year_of(DATE '2022-10-05')), typeof(dx_list('a')), typeof(dx_code5('08227'))"
    ).fetchone()
    assert row == ("VARCHAR", "BIGINT", "DOUBLE", "INTEGER", "BOOLEAN", "DATE", "INTEGER", "INTEGER",
                   "VARCHAR[]", "VARCHAR")


def test_install_is_idempotent(con):
    install_macros(con)
    install_macros(con)
    assert call(con, "dx_int", "１２０") == 120


def test_present_but_unparseable_detection(con):
    rows = con.execute(
        "SELECT raw, dx_text(raw) IS NOT NULL AND dx_date(raw) IS NULL AS bad"
        " FROM (VALUES ('2022-10-05'), ('2022-02-30'), (''), (NULL), ('令和4年10月5日'), ('いつか')) v(raw)"
    ).fetchall()
    assert [bad for _, bad in rows] == [False, True, False, False, False, True]


# --------------------------------------------------------------------------------------------------- vectorised
N = 200_000


@pytest.mark.slow
def test_macros_on_200k_rows(con):
    """Each macro over a 200,000-row VARCHAR column (mixed formats), checked on a sample of rows."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE big AS
        SELECT
            i,
            DATE '2022-04-01' + CAST(i % 700 AS INTEGER) AS d,
            CASE i % 7
                WHEN 0 THEN CAST(DATE '2022-04-01' + CAST(i % 700 AS INTEGER) AS VARCHAR)
                WHEN 1 THEN strftime(DATE '2022-04-01' + CAST(i % 700 AS INTEGER), '%Y/%-m/%-d')
                WHEN 2 THEN strftime(DATE '2022-04-01' + CAST(i % 700 AS INTEGER), '%Y年%-m月%-d日')
                WHEN 3 THEN 'R' || (year(DATE '2022-04-01' + CAST(i % 700 AS INTEGER)) - 2018) || '.'
                              || strftime(DATE '2022-04-01' + CAST(i % 700 AS INTEGER), '%-m.%-d')
                WHEN 4 THEN CAST(DATE '2022-04-01' + CAST(i % 700 AS INTEGER) - DATE '1899-12-30' AS VARCHAR)
                WHEN 5 THEN strftime(DATE '2022-04-01' + CAST(i % 700 AS INTEGER), '%Y%m%d')
                ELSE CAST(DATE '2022-04-01' + CAST(i % 700 AS INTEGER) AS VARCHAR) || ' 00:00:00'
            END AS s_date,
            CASE i % 3
                WHEN 0 THEN CAST(i AS VARCHAR)
                WHEN 1 THEN translate(CAST(i AS VARCHAR), '0123456789', '０１２３４５６７８９')
                ELSE format('{{:,}}', i) || '人'
            END AS s_int,
            CASE i % 4
                WHEN 0 THEN CAST(i % 300 AS VARCHAR)
                WHEN 1 THEN CAST(i % 300 AS VARCHAR) || '分'
                WHEN 2 THEN (i % 5) || '時間' || (i % 60) || '分'
                ELSE (i % 5) || ':' || lpad(CAST(i % 60 AS VARCHAR), 2, '0')
            END AS s_min,
            ['有', '無', 'はい', 'いいえ', 'TRUE', 'false', '○', '×', '', 'maybe'][1 + i % 10] AS s_bool,
            CASE i % 3
                WHEN 0 THEN 'A' || i || '、B' || i
                WHEN 1 THEN 'A' || i
                ELSE ' A' || i || ' ; ；B' || i || '\u3000'
            END AS s_list,
            CASE i % 2 WHEN 0 THEN '令和' || (i % 10 + 1) || '年度' ELSE CAST(2019 + i % 10 AS VARCHAR) END AS s_fy,
            CASE i % 2 WHEN 0 THEN '08227' ELSE '131016' END AS s_code,
            CASE i % 2 WHEN 0 THEN 'ｘ' || i ELSE '\u3000y' || i END AS s_text,
            CASE i % 2 WHEN 0 THEN CAST(i AS VARCHAR) || '.5' ELSE CAST(i AS VARCHAR) END AS s_num
        FROM range({N}) r(i)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE big_out AS
        SELECT i, d,
               dx_date(s_date) AS v_date, dx_int(s_int) AS v_int, dx_minutes(s_min) AS v_min,
               dx_bool(s_bool) AS v_bool, dx_list(s_list) AS v_list, dx_fiscal_year(s_fy) AS v_fy,
               dx_fiscal_year_of(dx_date(s_date)) AS v_fyof, dx_code5(s_code) AS v_code,
               dx_text(s_text) AS v_text, dx_number(s_num) AS v_num
        FROM big
    """)
    assert con.execute("SELECT count(*) FROM big_out").fetchone()[0] == N

    # whole-column checks that are cheap to state in SQL
    bad = con.execute("""
        SELECT
            count(*) FILTER (WHERE v_date IS DISTINCT FROM d),
            count(*) FILTER (WHERE v_int IS DISTINCT FROM i),
            count(*) FILTER (WHERE v_min IS DISTINCT FROM CASE i % 4
                WHEN 0 THEN i % 300 WHEN 1 THEN i % 300
                WHEN 2 THEN (i % 5) * 60 + i % 60 ELSE (i % 5) * 60 + i % 60 END),
            count(*) FILTER (WHERE v_bool IS DISTINCT FROM
                [true, false, true, false, true, false, true, false, NULL, NULL][1 + i % 10]),
            count(*) FILTER (WHERE v_list IS DISTINCT FROM CASE i % 3 WHEN 1 THEN ['A' || i]
                ELSE ['A' || i, 'B' || i] END),
            count(*) FILTER (WHERE v_fy IS DISTINCT FROM CASE i % 2 WHEN 0 THEN 2019 + i % 10 ELSE 2019 + i % 10 END),
            count(*) FILTER (WHERE v_fyof IS DISTINCT FROM year(d) - CASE WHEN month(d) < 4 THEN 1 ELSE 0 END),
            count(*) FILTER (WHERE v_code IS DISTINCT FROM CASE i % 2 WHEN 0 THEN '08227' ELSE '13101' END),
            count(*) FILTER (WHERE v_text IS DISTINCT FROM CASE i % 2 WHEN 0 THEN 'x' || i ELSE 'y' || i END),
            count(*) FILTER (WHERE v_num IS DISTINCT FROM CASE i % 2 WHEN 0 THEN i + 0.5 ELSE i END)
        FROM big_out
    """).fetchone()
    assert bad == (0,) * 10

    # and an explicit sample of rows
    sample = con.execute("""
        SELECT i, v_date, v_int, v_min, v_bool, v_list FROM big_out
        WHERE i IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12345, 199999) ORDER BY i
    """).fetchall()
    got = {row[0]: row[1:] for row in sample}
    assert got[0] == (D(2022, 4, 1), 0, 0, True, ["A0", "B0"])
    assert got[1] == (D(2022, 4, 2), 1, 1, False, ["A1"])
    assert got[2] == (D(2022, 4, 3), 2, 2 * 60 + 2, True, ["A2", "B2"])
    assert got[3] == (D(2022, 4, 4), 3, 3 * 60 + 3, False, ["A3", "B3"])
    assert got[8][3] is None and got[9][3] is None
    assert got[12345] == (D(2022, 4, 1) + dt.timedelta(days=12345 % 700), 12345, 45, False, ["A12345", "B12345"])
    assert got[199999][0] == D(2022, 4, 1) + dt.timedelta(days=199999 % 700)
    assert got[199999][1] == 199999
