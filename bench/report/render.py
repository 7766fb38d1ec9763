"""Build the page: section contexts into one Jinja2 template (autoescape on), CSS and SVG inline.

Every string from result files reaches the page through Jinja2 autoescaping or as matplotlib SVG
text (escaped by matplotlib). ``Markup`` is used only for what this project wrote: the stylesheet,
the print script and the SVG documents. A Content-Security-Policy allows no network request and
no script but the one whose hash it names.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bench.report import attainment, correctness, failures, llm, profiles, speedup, spread, summary, trends
from bench.report import format as fmt
from bench.report.data import ReportData
from bench.report.efficiency import efficiency_view
from bench.report.limits import Limits

HERE = Path(__file__).parent
# Open every <details> while printing, so a printed report shows everything; close them after.
PRINT_SCRIPT = (
    "(function(){var opened=[];"
    "addEventListener('beforeprint',function(){opened=[].slice.call(document.querySelectorAll('details:not([open])'));"
    "opened.forEach(function(d){d.open=true;});});"
    "addEventListener('afterprint',function(){opened.forEach(function(d){d.open=false;});});})();"
)


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(seconds=fmt.seconds, number=fmt.number, ratio=fmt.ratio, percent=fmt.percent, sci=fmt.sci, memory=fmt.memory)
    return env


def script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


def render(data: ReportData, limits: Limits, title: str, sources: list[str]) -> str:
    """The whole page as a string."""
    speed = speedup.build(data, limits)
    context = {
        "title": title,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "sources": sources,
        "limits": limits,
        "summary": summary.build(data, limits, speed["headline"]),
        "speedup": speed,
        "attainment": attainment.build(data, limits),
        "correctness": correctness.build(data, limits),
        "failures": failures.build(data, limits),
        "spread": spread.build(data, limits),
        "trends": trends.build(data, limits),
        "profiles": profiles.build(data, limits),
        "llm": llm.build(data, limits),
        "efficiency": efficiency_view(data.current),
        "css": Markup((HERE / "report.css").read_text(encoding="utf-8")),
        "script": Markup(PRINT_SCRIPT),
        "script_hash": script_hash(PRINT_SCRIPT),
    }
    return environment().get_template("report.html").render(**context)
