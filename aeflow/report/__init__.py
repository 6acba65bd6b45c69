"""Report time: tables, statistics, findings, figures and the report."""
