"""The read wing: connections to the database (db), the filters and the access restriction (filters), the named
queries (queries, SQL in monitor/sql) and their bounded caches (cache). A careless change here leaks data (another
prefecture's records) or memory; nothing here imports Streamlit, plotly or the views."""
