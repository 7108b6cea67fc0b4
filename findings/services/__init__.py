"""Writes of the findings app: imports, status changes, scan sources, enrichment."""
