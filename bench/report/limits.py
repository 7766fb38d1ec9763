"""Caps that keep a report of a large nightly suite usable and under its size budget."""

from __future__ import annotations

from dataclasses import dataclass, replace

MAX_BYTES = 10_000_000  # the page must stay under 10 MB


@dataclass(frozen=True)
class Limits:
    samples_per_case: int = 100  # timing samples drawn per case in a spread chart
    samples_total: int = 15_000  # timing samples drawn on the whole page (about 100 bytes of SVG each)
    rows_per_chart: int = 40  # cases per bar, heatmap or spread chart (the rest stay in tables)
    lines_per_trend: int = 12  # cases per trend chart
    visible_rows: int = 50  # table rows shown before the rest collapse into <details>
    table_rows: int = 3000  # rows any one table holds at most (the run files keep everything)
    max_bytes: int = MAX_BYTES

    def shrink(self) -> Limits:
        """Half of everything drawn: the next try when a page came out over ``max_bytes``."""
        return replace(
            self,
            samples_per_case=self.samples_per_case // 2,
            samples_total=self.samples_total // 2,
            rows_per_chart=max(5, self.rows_per_chart // 2),
            lines_per_trend=max(3, self.lines_per_trend // 2),
            visible_rows=max(10, self.visible_rows // 2),
            table_rows=max(100, self.table_rows // 2),
        )
