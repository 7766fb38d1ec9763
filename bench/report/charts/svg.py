"""Figures to inline SVG: matplotlib's object API (no pyplot state, no GUI backend), text kept as text.

Text in the SVG is XML-escaped by matplotlib's SVG backend (``backend_svg._escape_cdata``), so a
label such as ``<script>`` is written as ``&lt;script&gt;`` and the result is safe to inline as
markup. Mathtext is off (``text.parse_math``): a ``$`` in a workload name is text, not a formula.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from collections.abc import Callable

import matplotlib
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, LogLocator

from bench.summary import format_seconds

RC = {
    "svg.fonttype": "none",  # <text> elements, not glyph paths: smaller, selectable, escaped
    "svg.hashsalt": None,  # random clip-path ids: several inline SVGs never share an id
    "text.parse_math": False,
    "text.usetex": False,
    "font.size": 8.5,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],  # local fonts only; never fetched
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
}

FRAMEWORK_COLORS = {"torch": "#d9480f", "tensorflow": "#e8a200", "jax": "#3b6fd8", "mlx": "#2f2f2f"}
OTHER_COLORS = ["#2a9d8f", "#9b5de5", "#e76f51", "#6a994e", "#8d99ae"]
_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def color(name: str, names: list[str]) -> str:
    """A stable colour per framework; other series take the next colour of a short palette."""
    if name in FRAMEWORK_COLORS:
        return FRAMEWORK_COLORS[name]
    others = [n for n in names if n not in FRAMEWORK_COLORS]
    return OTHER_COLORS[others.index(name) % len(OTHER_COLORS)] if name in others else OTHER_COLORS[0]


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def to_svg(fig: Figure) -> Markup:
    buf = io.StringIO()
    with warnings.catch_warnings():
        # Text stays text (svg.fonttype none): the browser draws a glyph DejaVu lacks, so matplotlib's
        # "Glyph ... missing" warning about a name from a results file is noise on the terminal.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = _METADATA.sub("", _PROLOG.sub("", buf.getvalue(), count=1), count=1)
    return Markup(text)  # matplotlib escaped every text node (see module docstring)


def chart(build: Callable[..., Figure]) -> Callable[..., Markup]:
    """Decorator: run ``build`` (which returns a Figure) under the report's rc settings; return SVG."""

    @functools.wraps(build)
    def wrapper(*args, **kwargs) -> Markup:
        with matplotlib.rc_context(RC):  # type: ignore[arg-type]
            return to_svg(build(*args, **kwargs))

    return wrapper


def row_height(n_rows: float, per_row: float = 0.24, minimum: float = 1.6) -> float:
    return max(minimum, 0.9 + per_row * n_rows)


TICK_LABEL_WIDTH = 44  # characters; an LLM case label runs to 80, which left the axes no width at all
LABEL_LINE_IN = 0.13  # inches each wrapped line beyond the first adds to a row


def wrapped(label: str, width: int = TICK_LABEL_WIDTH) -> str:
    """A long tick label broken after its commas and spaces, so the axes keep their width."""
    lines, line = [], ""
    for piece in re.split(r"(?<=[, ])", label):
        if line and len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = ""
        line += piece
    return "\n".join([*lines, line.rstrip()])


def wrapped_labels(labels: list[str]) -> tuple[list[str], int]:
    """``labels`` wrapped, and the most lines any of them takes (to size the rows)."""
    out = [wrapped(str(label)) for label in labels]
    return out, max((label.count("\n") + 1 for label in out), default=1)


class PlainLogFormatter(LogFormatter):
    """Labels where matplotlib's LogFormatter would put one (some minor ticks too when the axis
    spans about a decade or less), as plain text ("20", "1 ms"): with mathtext off the default ``10^{n}``
    labels would print as raw TeX."""

    def __init__(self, seconds: bool = False):
        super().__init__(labelOnlyBase=False)
        self.seconds = seconds

    def __call__(self, x, pos=None) -> str:
        if not super().__call__(x, pos):
            return ""
        return format_seconds(x) if self.seconds else f"{x:g}"


def log_axis(ax, which: str, seconds: bool = False) -> None:
    """Log scale on ``ax``'s "x" or "y" axis with plain tick labels."""
    getattr(ax, f"set_{which}scale")("log")
    axis = getattr(ax, f"{which}axis")
    axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))  # 2 minor ticks a decade, not 8: cheaper to draw
    axis.set_major_formatter(PlainLogFormatter(seconds))
    axis.set_minor_formatter(PlainLogFormatter(seconds))
