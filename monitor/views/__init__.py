"""The views wing: one builder module per page (overview = 概要, progress = 伴走支援の進捗, themes = 相談テーマ,
map = 地図, report = 報告) and the one chart style (style). DataFrames in, plotly figures, pydeck decks and display
tables out; no Streamlit. A view may read through monitor.read (the report runs its queries), never the reverse."""
