"""Which metrics are shown in percent: one rule for the report's tables and figures.

Parse-time helper (standard library only), so that the plan's claim descriptions can use
it as well as the report. Accuracies and F1 scores are fractions in the tables and are
shown in percent (a difference between two of them in percentage points); every other
metric is shown as it is.
"""

from __future__ import annotations


def shown_in_percent(column) -> bool:
    """Whether a metric column (``test_accuracy``, ``test_macro_f1``, ...) holds a
    fraction that the report shows in percent."""
    name = str(column).lower()
    return "accuracy" in name or "f1" in name
