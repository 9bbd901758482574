"""Chart builders on small DataFrames: the figures carry the expected numbers, Japanese labels and context."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from monitor.views import overview, progress, style

CTX = "年度: 令和4年度（2022年度）｜都道府県: 長野県｜データ基準日: 2022年12月20日"
IB, NA = "茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"


def _kpi_frame():
    return pd.DataFrame([
        dict(is_total=True, consortium=None, companies=3, companies_completed=1, companies_cancelled=0,
             planned_engagements=1, sessions=22, planned_sessions=30, dx_plans=1,
             seminar_attendees=125, consultations=5, bank_sessions=7, bank_known_sessions=21, bank_rate=7 / 21,
             engagements=5, stalled=1, target_companies=10.0, target_sessions=100.0, target_dx_plans=10.0,
             target_seminar_attendees=300.0, target_consultations=20.0, target_bank_rate=None),
        dict(is_total=False, consortium=IB, companies=2, sessions=14, planned_sessions=20, dx_plans=1,
             seminar_attendees=70, consultations=1, bank_sessions=7, bank_known_sessions=13, bank_rate=7 / 13,
             engagements=2, stalled=1, target_companies=5.0, target_sessions=50.0, target_dx_plans=5.0,
             target_seminar_attendees=140.0, target_consultations=None, target_bank_rate=None),
        dict(is_total=False, consortium=NA, companies=1, sessions=8, planned_sessions=10, dx_plans=0,
             seminar_attendees=55, consultations=0, bank_sessions=0, bank_known_sessions=8, bank_rate=0.0,
             engagements=2, stalled=0, target_companies=4.0, target_sessions=40.0, target_dx_plans=4.0,
             target_seminar_attendees=110.0, target_consultations=None, target_bank_rate=None),
        dict(is_total=False, consortium=None, companies=0, sessions=0, planned_sessions=0, dx_plans=0,
             seminar_attendees=0, consultations=4, bank_sessions=0, bank_known_sessions=0, bank_rate=None,
             engagements=1, stalled=0, target_companies=None, target_sessions=None, target_dx_plans=None,
             target_seminar_attendees=None, target_consultations=None, target_bank_rate=None),
    ])


def _title(fig):
    return fig.layout.title.text, fig.layout.title.subtitle.text


def test_kpi_comparison_figure():
    fig = overview.kpi_comparison_figure(_kpi_frame(), CTX)
    assert isinstance(fig, go.Figure)
    assert _title(fig) == ("コンソーシアム別 目標達成率", CTX)
    bars = {t.name: dict(zip(t.x, t.y)) for t in fig.data}
    assert set(bars) == {IB, NA}                      # no targets → no bars for コンソーシアム外
    assert bars[IB] == {"支援企業数": 40.0, "伴走支援 実施回数": 28.0, "DX計画書策定数": 20.0, "セミナー参加者数": 50.0}
    assert bars[NA]["支援企業数"] == 25.0 and bars[NA]["セミナー参加者数"] == 50.0
    assert fig.layout.yaxis.title.text == "達成率（%）"


def test_monthly_activity_figure():
    df = pd.DataFrame({"month": pd.to_datetime(["2022-09-01", "2022-08-01"]), "sessions": [5, 7],
                       "bank_sessions": [2, 3], "consultations": [2, 0], "seminar_attendees": [0, 40],
                       "event_attendees": [0, 40]})
    fig = overview.monthly_activity_figure(df, CTX)
    assert _title(fig) == ("月別の活動状況", CTX)
    by_name = {t.name: t for t in fig.data}
    s = by_name["伴走支援 実施回数（回）"]
    assert list(s.x) == ["2022年8月", "2022年9月"] and list(s.y) == [7, 5]
    assert list(by_name["相談件数（件）"].y) == [0, 2]
    # seminar attendees: bars of their own panel, only in the months a seminar was held (no line through zeros)
    seminar = by_name["セミナー参加者数（人）"]
    assert seminar.type == "bar" and list(seminar.y) == [40, None] and seminar.yaxis == "y2"
    assert fig.layout.yaxis2.overlaying is None                      # its own panel, not a second axis over the bars
    assert fig.layout.yaxis2.domain[1] < fig.layout.yaxis.domain[0]


def test_stage_funnel_figure():
    stages = ["経営理念・ミッションの確認", "DX構想の検討", "DXシステム構成検討", "現状分析", "実施項目の抽出",
              "セキュリティ対策の検討", "DX計画書のとりまとめ"]
    rows = []
    for c, counts in [(IB, [2, 2, 2, 1, 1, 1, 1]), (NA, [2, 1, 1, 1, 0, 0, 0])]:
        rows += [dict(consortium=c, stage_no=i + 1, stage=s, engagements=n) for i, (s, n) in enumerate(zip(stages, counts))]
    fig = progress.stage_funnel_figure(pd.DataFrame(rows), CTX)
    assert fig.layout.title.subtitle.text == CTX and "段階" in fig.layout.title.text
    funnels = {t.name: t for t in fig.data}
    assert all(isinstance(t, go.Funnel) for t in fig.data)
    assert list(funnels[IB].x) == [2, 2, 2, 1, 1, 1, 1]
    assert list(funnels[NA].x) == [2, 1, 1, 1, 0, 0, 0]
    assert list(funnels[NA].y)[0] == "1. 経営理念・ミッションの確認"


def test_engagement_timeline_figure():
    df = pd.DataFrame({
        "engagement_id": ["E1", "E1", "E3"], "client_name": ["架空A社", "架空A社", "架空C社"],
        "consortium": [IB, IB, NA], "stalled": [True, True, False], "session_no": [1, 2, 1],
        "date": pd.to_datetime(["2022-08-10", "2022-08-24", "2022-09-26"]), "stage_no": [1, 2, 1],
        "stage": ["経営理念・ミッションの確認", "DX構想の検討", "経営理念・ミッションの確認"],
        "bank_attended": pd.array([True, False, pd.NA], dtype="boolean"),
    })
    fig = progress.engagement_timeline_figure(df, CTX, as_of=dt.date(2022, 12, 20))
    assert _title(fig) == ("伴走支援のタイムライン（案件別）", CTX)
    markers = [t for t in fig.data if t.mode == "markers"]
    assert sum(x is not None for t in markers for x in t.x) == 3
    # the legend explains both symbols, in entries of their own
    legend_only = {t.name: t.marker.symbol for t in markers if list(t.x) == [None] and not t.name[0].isdigit()}
    assert legend_only == {"金融機関同行あり（◆）": "diamond", "同行なし・記録なし（●）": "circle"}
    stage1 = [t for t in markers if t.name.startswith("1.") and list(t.x) != [None]]
    assert sorted(y for t in stage1 for y in t.y) == ["架空A社（E1）", "架空C社（E3）"]
    by_symbol = {t.marker.symbol: list(t.y) for t in stage1}
    assert by_symbol == {"diamond": ["架空A社（E1）"], "circle": ["架空C社（E3）"]}      # ◆ = bank attended
    assert list(fig.layout.yaxis.categoryarray) == ["架空C社（E3）", "架空A社（E1）"]


def test_kpi_cards_text():
    cards = {c["key"]: c for c in overview.kpi_cards(_kpi_frame().iloc[0])}
    assert cards["companies"]["value"] == "3社"
    assert cards["companies"]["detail"] == "うち完了 1社・中止 0社・予定 1件・目標 10社・達成率 30.0%"
    assert cards["sessions"]["value"] == "22 / 30回"
    assert cards["sessions"]["detail"].startswith("予定 30回・実施率 73.3%")
    assert cards["bank_rate"]["value"] == "33.3%" and cards["bank_rate"]["rate"] is None
    assert [c["label"] for c in overview.kpi_cards(_kpi_frame().iloc[0])] == [
        "支援企業数", "伴走支援 実施回数 / 予定回数", "DX計画書策定数", "セミナー参加者数", "相談件数", "金融機関同行率"]


def test_consortium_comparison_table_is_one_column_per_consortium():
    t = overview.consortium_comparison_table(_kpi_frame())
    assert list(t.columns) == ["項目", IB, NA, "コンソーシアム外"]
    rows = {r["項目"]: r for r in t.to_dict("records")}
    assert rows["支援企業数"][IB] == "2社" and rows["支援企業数 達成率"][IB] == "40.0%"
    assert rows["伴走支援 実施回数"][NA] == "8回" and rows["金融機関同行率"]["コンソーシアム外"] == "—"
    assert len(t) == len(overview.consortium_table(_kpi_frame()).columns) - 1


def test_stage_funnel_labels_count_and_share_of_stage_one():
    stages = ["経営理念・ミッションの確認", "DX構想の検討"]
    df = pd.DataFrame([dict(consortium=c, stage_no=i + 1, stage=s, engagements=n)
                       for c, counts in [(IB, [4, 3]), (NA, [2, 0])] for i, (s, n) in enumerate(zip(stages, counts))])
    fig = progress.stage_funnel_figure(df, CTX)
    funnels = {t.name: t for t in fig.data}
    assert list(funnels[IB].text) == ["4件（100.0%）", "3件（75.0%）"]
    assert funnels[IB].xaxis != funnels[NA].xaxis                     # one panel per consortium: nothing overlaps
    assert "0件（0.0%）" in [a.text for a in fig.layout.annotations]  # a zero-width bar still says 0件


# ── figures built as plain plotly JSON (style.figure_from_spec) ───────────────────────────────────────────────

def _without_empty(v):
    """Plotly's validating constructor drops empty objects (xaxis.title = {}); nothing else may differ."""
    if isinstance(v, dict):
        out = {k: _without_empty(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x != {}}
    if isinstance(v, (list, tuple)):
        return [_without_empty(x) for x in v]
    return v


def _monthly_frame():
    return pd.DataFrame({"month": pd.to_datetime(["2022-09-01", "2022-08-01"]), "sessions": [5, 7],
                         "bank_sessions": [2, 3], "consultations": [2, 0], "seminar_attendees": [0, 40],
                         "event_attendees": [0, 40]})


def test_spec_figures_are_what_plotly_validation_makes_of_them():
    """The overview charts skip plotly's per-property validation when built; the same spec through the validating
    constructor must come out unchanged (so every property name and value is one plotly accepts as given)."""

    for fig in (overview.kpi_comparison_figure(_kpi_frame(), CTX), overview.monthly_activity_figure(_monthly_frame(), CTX),
                overview.kpi_comparison_figure(_kpi_frame().iloc[0:0], CTX)):
        spec = json.loads(pio.to_json(fig.to_dict(), validate=False))
        validated = json.loads(pio.to_json(go.Figure(fig.to_dict()).to_dict(), validate=False))
        assert _without_empty(spec) == _without_empty(validated)
        white = go.Figure(layout={"template": "plotly_white"}).to_dict()
        assert spec["layout"]["template"] == json.loads(pio.to_json(white, validate=False))["layout"]["template"]


def test_spec_figures_validate_later_changes():
    fig = overview.kpi_comparison_figure(_kpi_frame(), CTX)
    for change in (lambda: fig.update_layout(titel="x"), lambda: fig.layout.title.update(txt="x"),
                   lambda: fig.data[0].update(nme="x")):
        with pytest.raises(ValueError):
            change()
    fig.update_layout(width=800)
    assert fig.layout.width == 800


def test_style_figure_template_is_the_validated_one():
    """style_figure assigns its template without validating it again: the figure equals the validated assignment."""
    fast = style.style_figure(go.Figure(go.Bar(x=[1, 2], y=[3, 4])), "題", CTX)
    slow = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    slow.update_layout(title={"text": "題", "subtitle": {"text": CTX}, "x": 0.0, "xanchor": "left"},
                       font={"family": style.FONT, "size": 13}, height=420,
                       margin={"l": 10, "r": 10, "t": 80, "b": 10},
                       legend={"orientation": "h", "yanchor": "bottom", "y": -0.25, "x": 0}, template="plotly_white",
                       separators=style.SEPARATORS, hoverlabel=style.HOVERLABEL)
    slow.update_layout(xaxis={"exponentformat": "none", "separatethousands": True},
                       yaxis={"exponentformat": "none", "separatethousands": True})
    assert fast.to_dict() == slow.to_dict()


# ── national scale: many consortia ──────────────────────────────────────────────────────────────────────────────

MANY = [f"県{i:02d}DX支援コミュニティ" for i in range(1, style.MANY_CONSORTIA + 3)]


def _many_kpi_frame():
    """The two-consortium frame plus enough consortia to pass MANY_CONSORTIA; 県01 has no seminar target."""
    rows = _kpi_frame().to_dict("records")
    base = rows[1]
    for i, name in enumerate(MANY):
        rows.insert(-1, {**base, "consortium": name, "companies": i + 1, "sessions": 10 * (i + 1),
                         "target_seminar_attendees": None if i == 0 else 140.0})
    return pd.DataFrame(rows)


def test_kpi_comparison_with_many_consortia_is_a_heatmap_one_row_each():
    fig = overview.kpi_comparison_figure(_many_kpi_frame(), CTX)
    assert _title(fig) == ("コンソーシアム別 目標達成率", CTX)
    (heat,) = fig.data
    assert heat.type == "heatmap"
    assert list(heat.y) == [IB, NA, *MANY]                           # the query's order, no row for コンソーシアム外
    assert list(heat.x) == ["支援企業数", "伴走支援 実施回数", "DX計画書策定数", "セミナー参加者数"]
    cells = {name: dict(zip(heat.x, zs)) for name, zs in zip(heat.y, heat.z)}
    assert cells[IB] == {"支援企業数": 40.0, "伴走支援 実施回数": 28.0, "DX計画書策定数": 20.0, "セミナー参加者数": 50.0}
    assert cells[MANY[2]]["支援企業数"] == 60.0 and cells[MANY[2]]["伴走支援 実施回数"] == 60.0
    assert cells[MANY[0]]["セミナー参加者数"] is None                  # no target: an empty cell, not 0 %
    texts = {name: dict(zip(heat.x, ts)) for name, ts in zip(heat.y, heat.text)}
    assert texts[IB]["支援企業数"] == "40.0%" and texts[MANY[0]]["セミナー参加者数"] == "—"
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.height >= 26 * len(heat.y)
    # fewer consortia stay bar groups
    assert {t.type for t in overview.kpi_comparison_figure(_kpi_frame(), CTX).data} == {"bar"}


def test_many_consortia_heatmap_spec_is_what_plotly_validation_makes_of_it():

    fig = overview.kpi_comparison_figure(_many_kpi_frame(), CTX)
    spec = json.loads(pio.to_json(fig.to_dict(), validate=False))
    validated = json.loads(pio.to_json(go.Figure(fig.to_dict()).to_dict(), validate=False))
    assert _without_empty(spec) == _without_empty(validated)


def test_stage_funnel_with_many_consortia_is_a_heatmap_of_shares():
    stages = ["経営理念・ミッションの確認", "DX構想の検討", "DXシステム構成検討"]
    rows = [dict(consortium=c, stage_no=i + 1, stage=s, engagements=n)
            for c, counts in [(IB, [4, 3, 1]), (NA, [2, 0, 0])] + [(m, [5, 5, 5]) for m in MANY]
            for i, (s, n) in enumerate(zip(stages, counts))]
    fig = progress.stage_funnel_figure(pd.DataFrame(rows), CTX)
    (heat,) = fig.data
    assert heat.type == "heatmap" and "段階" in fig.layout.title.text
    assert list(heat.x) == ["1. 経営理念・ミッションの確認", "2. DX構想の検討", "3. DXシステム構成検討"]
    assert list(heat.y) == [IB, NA, *MANY]
    assert [list(r) for r in heat.z[:2]] == [[100.0, 75.0, 25.0], [100.0, 0.0, 0.0]]
    assert list(heat.text[0]) == ["4件（100%）", "3件（75%）", "1件（25%）"]


def test_consortium_comparison_with_many_consortia_is_one_sortable_row_each():
    t = overview.consortium_comparison_table(_many_kpi_frame())
    assert list(t["コンソーシアム"]) == [IB, NA, *MANY, "コンソーシアム外"]
    assert t.columns[0] == "コンソーシアム"
    numeric = [c for c in t.columns if c != "コンソーシアム"]
    assert set(numeric) == set(overview.COMPARISON_NUMBER_FORMATS)       # every number column has its format
    assert all(pd.api.types.is_numeric_dtype(t[c]) for c in numeric)  # sorts as numbers, not as text
    row = t.set_index("コンソーシアム").loc[MANY[2]]
    assert row["支援企業数"] == 3 and row["伴走支援 実施回数"] == 30 and row["支援企業数 達成率"] == 60.0
    assert row["金融機関同行率"] == round(100 * 7 / 13, 1)
    assert pd.isna(t.set_index("コンソーシアム").loc["コンソーシアム外", "支援企業数 達成率"])


@pytest.mark.parametrize("sessions, planned, label, value", [
    (22, 30, "伴走支援 実施回数 / 予定回数", "22 / 30回"),
    (3940, 4390, "伴走支援 実施回数", "3,940回"),                     # "3,940 / 4,390回" would be cut off
    (305933, 341140, "伴走支援 実施回数", "305,933回"),
])
def test_sessions_card_value_fits_the_card(sessions, planned, label, value):
    total = _kpi_frame().iloc[0].copy()
    total["sessions"], total["planned_sessions"] = sessions, planned
    card = next(c for c in overview.kpi_cards(total) if c["key"] == "sessions")
    assert (card["label"], card["value"]) == (label, value)
    assert card["detail"].startswith(f"予定 {planned:,}回")           # the planned count is still on the card


@pytest.mark.parametrize("text, expected", [
    ("現状分析", "現状分析"),
    ("DX構想の検討", "DX構想の検討"),                                  # seven characters fit on one line
    ("経営理念・ミッションの確認", "経営理念・<br>ミッションの確認"),
    ("DXシステム構成検討", "DXシステム<br>構成検討"),
    ("セキュリティ対策の検討", "セキュリティ<br>対策の検討"),
    ("DX計画書のとりまとめ", "DX計画書の<br>とりまとめ"),
    ("ああああああああああ", "あああああああ<br>あああ"),                     # one script: cut at seven
])
def test_two_lines_breaks_where_a_reader_would(text, expected):
    assert progress.two_lines(text) == expected
