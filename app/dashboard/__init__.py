"""Observability: step and tick records, the dashboard's queries, views, page, API and tables."""
