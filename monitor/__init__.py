"""Read side of the dashboard: read-only database access, filters, queries, formatting, charts, page helpers."""
