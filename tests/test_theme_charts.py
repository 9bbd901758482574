"""The 相談テーマ figure builders on small hand-made DataFrames."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import plotly.graph_objects as go
import plotly.io as pio

from monitor.views import themes as tc

CONTEXT = "年度: 令和4年度（2022年度）｜都道府県: 茨城県｜データ基準日: 2023年2月28日"


def _roundtrip(fig: go.Figure) -> go.Figure:
    """Through JSON as Streamlit ships it (plotly 7 encodes numbers as base64 bdata)."""
    return pio.from_json(fig.to_json())


def _bars(fig: go.Figure) -> dict[str, int]:
    out: dict[str, int] = {}
    for tr in fig.data:
        for y, x in zip(tr.y, tr.x):
            out[y] = out.get(y, 0) + int(x)
    return out


COUNTS = pd.DataFrame({
    "theme": ["調達支援", "経営ビジョン・DX戦略", None, "導入支援"],
    "theme_id": ["M10", "C01", None, "M11"],
    "audience": ["自治体", "企業", None, "自治体"],
    "theme_sort_order": [10, 12, 9999, 11],
    "records": [30, 12, 5, 3],
    "consultations": [30, 2, 5, 3],
    "sessions": [0, 10, 0, 0],
    "share": [0.6, 0.24, 0.1, 0.06],
})


def test_theme_bar_counts_shares_and_order():
    fig = _roundtrip(tc.theme_bar_figure(COUNTS, CONTEXT))
    assert _bars(fig) == {"調達支援": 30, "経営ビジョン・DX戦略": 12, "未分類": 5, "導入支援": 3}
    # every theme in exactly one trace; traces named by audience in Japanese
    names = [tr.name for tr in fig.data]
    assert names == ["自治体向けテーマ", "企業向けテーマ", "未分類"]
    ys = [y for tr in fig.data for y in tr.y]
    assert len(ys) == len(set(ys)) == 4
    texts = {y: t for tr in fig.data for y, t in zip(tr.y, tr.text)}
    assert texts["調達支援"] == "30件（60.0%）"
    assert texts["未分類"] == "5件（10.0%）"
    # most frequent on top (category array is bottom→top), 未分類 last (bottom) despite outnumbering 導入支援
    assert list(fig.layout.yaxis.categoryarray) == ["未分類", "導入支援", "経営ビジョン・DX戦略", "調達支援"]
    assert "テーマ別の件数と構成比" in fig.layout.title.text
    assert fig.layout.title.subtitle.text == CONTEXT


def test_theme_count_table_is_japanese_and_formatted():
    t = tc.theme_count_table(COUNTS)
    assert list(t.columns) == ["テーマ", "対象", "件数", "構成比", "相談記録", "伴走記録"]
    assert t["テーマ"].tolist()[-1] == "未分類"
    assert t.iloc[0].to_dict() == {"テーマ": "調達支援", "対象": "自治体", "件数": "30件", "構成比": "60.0%",
                                   "相談記録": "30件", "伴走記録": "0件"}


TREND = pd.DataFrame({
    "period": [dt.date(2022, 4, 1), dt.date(2022, 4, 1), dt.date(2022, 7, 1), dt.date(2023, 1, 1)],
    "theme": ["調達支援", "導入支援", "調達支援", "未分類"],
    "theme_sort_order": [10, 11, 10, 9999],
    "records": [3, 2, 4, 1],
})


def test_trend_by_quarter_fills_gaps_and_labels_fiscal_quarters():
    fig = _roundtrip(tc.theme_trend_figure(TREND, CONTEXT, grain="quarter"))
    labels = list(fig.data[0].x)
    assert labels == ["2022年度 第1四半期", "2022年度 第2四半期", "2022年度 第3四半期", "2022年度 第4四半期"]
    per_theme = {tr.name: [int(v) for v in tr.y] for tr in fig.data}
    assert per_theme == {"調達支援": [3, 4, 0, 0], "導入支援": [2, 0, 0, 0], "未分類": [0, 0, 0, 1]}
    assert fig.layout.barmode == "stack"
    assert "四半期別" in fig.layout.title.text and fig.layout.title.subtitle.text == CONTEXT


def test_trend_by_month_and_top_n_groups_the_rest():
    fig = _roundtrip(tc.theme_trend_figure(TREND, CONTEXT, grain="month", top_n=1))
    assert list(fig.data[0].x)[:4] == ["2022年4月", "2022年5月", "2022年6月", "2022年7月"]
    assert len(fig.data[0].x) == 10                       # April 2022 … January 2023
    names = [tr.name for tr in fig.data]
    assert names == ["調達支援", "その他"]
    total = sum(int(v) for tr in fig.data for v in tr.y)
    assert total == int(TREND["records"].sum())
    assert "上位1テーマ" in fig.layout.title.text


def test_fiscal_quarter_label():
    assert tc.fiscal_quarter_label(dt.date(2023, 1, 1)) == "2022年度 第4四半期"
    assert tc.fiscal_quarter_label(dt.date(2022, 10, 1)) == "2022年度 第3四半期"
    assert tc.fiscal_quarter_label(pd.Timestamp("2022-04-01")) == "2022年度 第1四半期"


HEAT = pd.DataFrame({
    "theme": ["データ活用", "経営ビジョン・DX戦略", "調達支援", "経営ビジョン・DX戦略", None],
    "theme_sort_order": [17, 12, 10, 12, 9999],
    "area": ["長野県", "茨城県", "山形県", "長野県", "茨城県"],
    "area_order": ["20", "08", "06", "20", "08"],
    "records": [4, 7, 30, 2, 1],
})


def test_heatmap_rows_and_figure():
    rows = tc.heatmap_rows(HEAT)
    assert rows.themes == ["調達支援", "経営ビジョン・DX戦略", "データ活用", "未分類"]
    assert rows.areas == ["山形県", "茨城県", "長野県"]                 # one row per area, in code order
    assert rows.counts == [[30, 0, 0, 0], [0, 7, 0, 1], [0, 2, 4, 0]]
    assert rows.totals == [30, 8, 6] and rows.left_out == 0
    fig = _roundtrip(tc.theme_heatmap_figure(HEAT, CONTEXT))
    hm = fig.data[0]
    assert list(hm.y) == rows.areas and list(hm.x) == rows.themes
    assert [[int(v) for v in row] for row in hm.z] == rows.counts
    assert hm.text[0][1] == ""                              # zero cells are blank
    assert fig.layout.xaxis.title.text == "テーマ"
    assert fig.layout.title.text == "都道府県 × テーマの件数"
    assert fig.layout.title.subtitle.text == CONTEXT


def test_heatmap_share_is_each_rows_share_in_per_cent():
    fig = _roundtrip(tc.theme_heatmap_figure(HEAT, CONTEXT, measure="share"))
    hm = fig.data[0]
    z = [list(map(float, row)) for row in hm.z]
    assert z[1] == [0.0, 87.5, 0.0, 12.5] and z[2] == [0.0, 100 * 2 / 6, 100 * 4 / 6, 0.0]
    assert all(abs(sum(row) - 100) < 1e-9 for row in z)
    assert hm.text[1][1] == "88%" and hm.text[1][0] == ""     # a theme without records stays blank, never 0%
    assert fig.layout.title.text == "都道府県 × テーマの構成比（行ごとに合計100%）"
    assert hm.zmin == 0 and hm.zmax == 100


def test_heatmap_top_n_keeps_the_largest_rows_ties_by_area_code():
    # totals: 06 → 5, 08 → 9, 20 → 9, 30 → 1; top 2 keeps 08 and 20; top 1 keeps 08 (a tie: the smaller code)
    heat = pd.DataFrame({"theme": ["調達支援"] * 4, "theme_sort_order": [10] * 4,
                         "area": ["山形県", "茨城県", "長野県", "和歌山県"], "area_order": ["06", "08", "20", "30"],
                         "records": [5, 9, 9, 1]})
    two = tc.heatmap_rows(heat, 2)
    assert two.areas == ["茨城県", "長野県"] and two.left_out == 2
    assert tc.left_out_line(two, "都道府県").startswith("ほか 2 都道府県は表示していません")
    one = tc.heatmap_rows(heat, 1)
    assert one.areas == ["茨城県"] and one.left_out == 3
    assert tc.heatmap_rows(heat, 10).left_out == 0 and tc.left_out_line(tc.heatmap_rows(heat, 10), "x") == ""
    fig = tc.theme_heatmap_figure(heat, CONTEXT, top=2)
    assert list(fig.data[0].y) == ["茨城県", "長野県"] and fig.layout.title.text == "都道府県 × テーマの件数・上位2"
    assert "上位" not in tc.theme_heatmap_figure(heat, CONTEXT, top=10).layout.title.text


def test_heatmap_by_municipality_names_the_prefecture():
    fig = tc.theme_heatmap_figure(HEAT, CONTEXT, area_label="市区町村", prefecture="長野県")
    assert fig.layout.title.text == "市区町村（長野県） × テーマの件数"
    assert fig.layout.xaxis.title.text == "テーマ"


def test_records_table():
    rec = pd.DataFrame({
        "source": ["相談記録"], "date": [dt.date(2022, 10, 5)], "client_name": ["山形市"], "prefecture": ["山形県"],
        "municipality": ["山形市"], "original_text": ["調達仕様書のレビュー"], "summary": [None],
    })
    t = tc.theme_records_table(rec)
    assert t.iloc[0].to_dict() == {"区分": "相談記録", "日付": "2022年10月5日", "支援先": "山形市", "都道府県": "山形県",
                                   "市区町村": "山形市", "記載内容（原文）": "調達仕様書のレビュー", "概要・メモ": ""}


def test_heatmap_is_as_tall_as_its_rows_and_labels_every_one():
    few = tc.theme_heatmap_figure(HEAT, CONTEXT)
    assert few.layout.margin.t > 80                                   # theme labels below the title + subtitle
    many = pd.DataFrame({"theme": ["調達支援"] * 47, "theme_sort_order": [10] * 47,
                         "area": [f"県{i:02d}" for i in range(47)], "area_order": [f"{i:02d}" for i in range(47)],
                         "records": list(range(1, 48))})
    fig = tc.theme_heatmap_figure(many, CONTEXT)
    assert len(fig.layout.yaxis.tickvals) == 47                       # every prefecture labelled
    assert fig.layout.yaxis.tickfont.size >= 12
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert plot_px / 47 >= 22                                         # a row is tall enough for its label
    assert fig.layout.height - few.layout.height == 26 * (47 - 3)     # the height follows the rows
    assert [[int(v) for v in row] for row in fig.data[0].z] == [[v] for v in range(1, 48)]


@pytest.mark.parametrize("start, end, grain, expected", [
    # one fiscal year by month: every month, level, the year under April and January
    ((2024, 4), (2025, 3), "month", ["4月<br>2024年", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月",
                                     "1月<br>2025年", "2月", "3月"]),
    # three fiscal years by month: every third month (at most 12 ticks)
    ((2022, 4), (2025, 3), "month", ["4月<br>2022年", "7月", "10月", "1月<br>2023年", "4月", "7月", "10月",
                                     "1月<br>2024年", "4月", "7月", "10月", "1月<br>2025年"]),
    ((2024, 4), (2025, 3), "quarter", ["第1四半期<br>2024年度", "第2四半期", "第3四半期", "第4四半期"]),
])
def test_trend_ticks_are_short_level_and_at_most_twelve(start, end, grain, expected):
    months = pd.date_range(dt.date(*start, 1), dt.date(*end, 1), freq="MS")
    trend = pd.DataFrame({"period": months, "theme": "データ活用", "theme_sort_order": 1, "records": 1})
    fig = _roundtrip(tc.theme_trend_figure(trend, CONTEXT, grain=grain))
    axis = fig.layout.xaxis
    assert list(axis.ticktext) == expected and axis.tickangle == 0
    assert set(axis.tickvals) <= set(fig.data[0].x)          # each tick names a bar's own (full) label
