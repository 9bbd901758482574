"""Filters ↔ URL query parameters, and the Japanese formatting they rely on."""
from __future__ import annotations

import datetime as dt
import urllib.parse

import numpy as np
import pandas as pd
import pytest

from monitor.print_layout import PRINT_PARAM
from monitor.read.filters import Filters, describe_filters, from_query_params, parse_fiscal_year, to_query_params
from monitor.report_pdf import report_url
from monitor.format import fmt_date, fmt_int, fmt_pct, format_fiscal_year, is_missing

CHOICES = {
    "fiscal_years": [2022, 2021],
    "prefectures": ["山形県", "茨城県", "長野県"],
    "consortia": ["茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"],
    "support_types": ["伴走支援", "ITCアドバイザー", "研修", "相談会"],
    "coordinators": ["架空 一郎(架空)", "架空 花子(架空)"],
}


@pytest.mark.parametrize("f", [
    Filters(2022),
    Filters(None),
    Filters(2021, prefectures=("長野県",)),
    Filters(2022, prefectures=("茨城県", "長野県"), consortia=("茨城県DX支援コミュニティ",)),
    Filters(2022, date_from=dt.date(2022, 4, 1), date_to=dt.date(2022, 9, 30)),
    Filters(2022, date_from=dt.date(2022, 10, 1)),
    Filters(None, date_to=dt.date(2023, 3, 31), support_types=("伴走支援", "相談会")),
    Filters(2022, coordinators=("架空 一郎(架空)", "架空 花子(架空)")),
])
def test_round_trip(f):
    qp = to_query_params(f)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in qp.items())
    back, notices = from_query_params(qp, CHOICES)
    assert notices == []
    assert back == f


def test_defaults_latest_year_everything_else_all():
    f, notices = from_query_params({}, CHOICES)
    assert f == Filters(2022) and notices == []


@pytest.mark.parametrize("qp, expected", [
    ({"都道府県": ["茨城県", "長野県"]}, ("茨城県", "長野県")),        # repeated parameter
    ({"都道府県": "茨城県,長野県"}, ("茨城県", "長野県")),             # comma-joined
    ({"都道府県": "茨城県、長野県"}, ("茨城県", "長野県")),            # Japanese comma
    ({"都道府県": " 長野県 "}, ("長野県",)),
    ({"都道府県": "長野県,長野県"}, ("長野県",)),
])
def test_list_forms(qp, expected):
    f, notices = from_query_params(qp, CHOICES)
    assert f.prefectures == expected and notices == []


@pytest.mark.parametrize("text, year", [
    ("2022", 2022), ("R4", 2022), ("令和4年度", 2022), ("2022年度", 2022), ("２０２２", 2022),
    ("令和4年度（2022年度）", 2022), ("R3", 2021), ("全年度", None),
])
def test_fiscal_year_forms(text, year):
    f, notices = from_query_params({"年度": text}, CHOICES)
    assert notices == [] and f.fiscal_year == year


@pytest.mark.parametrize("qp, field, fragment", [
    ({"都道府県": "東京都"}, "prefectures", "東京都"),
    ({"都道府県": "長野県,存在しない県"}, "prefectures", "存在しない県"),
    ({"コンソーシアム": "架空コミュニティ"}, "consortia", "架空コミュニティ"),
    ({"支援種別": "宇宙支援"}, "support_types", "宇宙支援"),
    ({"担当ITC": "いない人"}, "coordinators", "いない人"),
    ({"年度": "abc"}, "fiscal_year", "abc"),
    ({"年度": "2030"}, "fiscal_year", "2030"),
    ({"期間": "昨日から"}, "date_from", "昨日から"),
    ({"期間": "2022-13-45~2022-10-01"}, "date_from", "2022-13-45"),
])
def test_bad_values_are_dropped_with_a_notice(qp, field, fragment):
    f, notices = from_query_params(qp, CHOICES)
    assert len(notices) == 1 and fragment in notices[0]
    default = Filters(2022)
    if field == "prefectures" and "長野県" in qp["都道府県"]:
        assert f.prefectures == ("長野県",)
    else:
        assert getattr(f, field) == getattr(default, field)


def test_coordinator_in_the_url_matches_full_width_spelling():
    f, notices = from_query_params({"担当ITC": "架空 一郎（架空）、架空 花子(架空)"}, CHOICES)
    assert notices == [] and f.coordinators == ("架空 一郎(架空)", "架空 花子(架空)")
    assert "担当ITC: 架空 一郎(架空)" in describe_filters(f)
    assert "担当ITC" not in describe_filters(Filters(2022))


def test_reversed_period_is_swapped_with_a_notice():
    f, notices = from_query_params({"期間": "2022-09-30~2022-04-01"}, CHOICES)
    assert (f.date_from, f.date_to) == (dt.date(2022, 4, 1), dt.date(2022, 9, 30))
    assert len(notices) == 1


@pytest.mark.parametrize("text", ["2022/4/1~2022/9/30", "2022年4月1日〜2022年9月30日", "2022-04-01..2022-09-30"])
def test_period_forms(text):
    f, notices = from_query_params({"期間": text}, CHOICES)
    assert notices == [] and (f.date_from, f.date_to) == (dt.date(2022, 4, 1), dt.date(2022, 9, 30))


def test_strange_inputs_never_raise():
    for qp in [{"年度": ""}, {"都道府県": ""}, {"期間": "~"}, {"期間": ""}, {"unknown": "x"}, {"年度": ["2021", "2022"]}]:
        f, _ = from_query_params(qp, CHOICES)
        assert isinstance(f, Filters)
    f, notices = from_query_params({}, {"fiscal_years": [], "prefectures": [], "consortia": [], "support_types": []})
    assert f == Filters(None)


def test_sql_params_and_hashable():
    f = Filters(2022, prefectures=["茨城県"])          # a list given is kept as a tuple
    assert f.prefectures == ("茨城県",)
    assert hash(f) == hash(Filters(2022, prefectures=("茨城県",)))
    assert f.sql_params() == {"fy": 2022, "prefectures": ["茨城県"], "consortia": [], "date_from": None,
                              "date_to": None, "support_types": [], "coordinators": []}


def test_describe_filters():
    text = describe_filters(Filters(2022, prefectures=("長野県",), date_from=dt.date(2022, 10, 5)))
    assert "令和4年度（2022年度）" in text and "都道府県: 長野県" in text and "2022年10月5日〜" in text
    assert "支援種別: すべて" in text


@pytest.mark.parametrize("y, text", [
    (2022, "令和4年度（2022年度）"), (2019, "令和元年度（2019年度）"), (2018, "平成30年度（2018年度）"),
    (None, "全年度"),
])
def test_format_fiscal_year(y, text):
    assert format_fiscal_year(y) == text
    if y is not None:
        assert parse_fiscal_year(text) == y


def test_number_and_date_formats():
    assert fmt_int(1234567) == "1,234,567"
    assert fmt_int(12, "社") == "12社"
    assert fmt_int(None) == "—"
    assert fmt_pct(0.4567) == "45.7%"
    assert fmt_pct(None) == "—" and fmt_pct(float("nan")) == "—"
    assert fmt_date(dt.date(2022, 10, 5)) == "2022年10月5日"
    assert fmt_date("2022-10-05") == "2022年10月5日"


def test_is_missing_is_the_one_missing_value_test():
    assert all(is_missing(v) for v in (None, float("nan"), np.float64("nan"), pd.NA, pd.NaT, np.datetime64("NaT")))
    assert not any(is_missing(v) for v in (0, 0.0, "", "nan", [], [None], (), {}, b"", dt.date(2022, 4, 1)))


@pytest.mark.parametrize("fiscal_year, consortium", [(2024, None), (2023, "茨城県DX支援コミュニティ"),
                                                     (2024, "名前 & 記号?=#")])
def test_the_pdf_url_reads_back_as_the_report_filters(fiscal_year, consortium):
    """The PDF prints the page at report_url: its parameters are the sidebar's, read back by the same parser."""
    url = report_url("http://127.0.0.1:1", fiscal_year, consortium)
    qp = {k: v[-1] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}
    assert qp[PRINT_PARAM] == "1"
    choices = {"fiscal_years": [2023, 2024], "consortia": [consortium] if consortium else [],
               "prefectures": [], "support_types": [], "coordinators": []}
    got, notices = from_query_params(qp, choices)
    assert (got.fiscal_year, got.consortia, notices) == (fiscal_year, (consortium,) if consortium else (), [])
