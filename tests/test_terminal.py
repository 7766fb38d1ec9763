"""Strings from files never act on the terminal: no rich markup is parsed from them, no escape sequence
or control character reaches the output, and lone surrogates are printable (bench/text.py)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from rich.console import Console

from bench import text
from bench.cli import main
from bench.results.records import CaseRecord
from bench.summary import summary_table
from tests._gate_helpers import case, run_doc

HOSTILE = "x[/b]y[bold red]z\x1b[2J\x1b]0;title\x07\r\x9b31m\u202eevil\ud800"


def assert_inert(out: str) -> None:
    """Nothing in ``out`` a terminal would act on, and it can be written as UTF-8."""
    for raw in ("\x1b", "\x07", "\r", "\x9b", "\u202e"):
        assert raw not in out, repr(raw)
    out.encode("utf-8")


def test_plain_escapes_controls_and_keeps_the_text():
    assert text.plain("a\x1b[31mb\tc\nd") == "a\\x1b[31mb\tc\nd"
    assert text.one_line("a\nb\tc\r") == "a\\x0ab\\x09c\\x0d"
    assert text.plain("\x9b\x7f\u202e\u2066") == "\\x9b\\x7f\\u202e\\u2066"
    assert text.encodable("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert text.plain("naïve — 日本 🙂") == "naïve — 日本 🙂"  # printable Unicode is left alone


@pytest.mark.parametrize("value", ["[/b]", "[bold]x[/bold]", "a\\", "[link=file:///etc/passwd]x[/link]", HOSTILE, "\\[/b]"])
def test_markup_renders_literally(value):
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(text.markup(value))
    shown = console.file.getvalue().rstrip("\n")
    assert shown.replace("\\\\", "\\") == text.plain(value).replace("\\\\", "\\")
    assert_inert(shown)


def test_summary_table_with_hostile_strings():
    record = CaseRecord.from_dict(case(HOSTILE, [1e-3, 1.1e-3, 1.2e-3], backend="torch:cpu"))
    record.notes.append(f"overhead-bound: {HOSTILE}")
    record.flags.append("overhead-bound")
    failed = CaseRecord.from_dict(case("e", status="error", reason=HOSTILE))
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(summary_table([record, failed], title=text.markup(HOSTILE)))
    out = console.file.getvalue()
    assert_inert(out)
    assert "x[/b]y[bold red]z" in out and "\\x1b[2J" in out


def test_list_cases_with_markup_in_the_suite_name(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "x[/b]y \\u001b[2J"\nbackends = ["torch:cpu"]\n[[workload]]\nname = "matmul"\ndtypes = ["fp32"]\ngrid = { mnk = [[8, 8, 8]] }\n'
    )
    assert main(["list", "cases", "--suite", str(suite)]) == 0
    out = capsys.readouterr().out
    assert "suite x[/b]y \\x1b[2J" in out
    assert_inert(out)


def test_compare_with_hostile_results_in_every_format(tmp_path, capsys):
    doc = run_doc([case(HOSTILE, [1.0, 1.1, 1.2]), case("e", status="error", reason=HOSTILE)], suite=HOSTILE)
    folder = tmp_path / "run[b]\x1b[31m[/i]"
    folder.mkdir(parents=True)
    (folder / "r.json").write_text(json.dumps(doc))
    for fmt in ("table", "markdown", "json"):
        assert main(["compare", str(folder), str(folder), "--format", fmt]) == 0
        captured = capsys.readouterr()
        assert_inert(captured.out + captured.err)
        assert "Traceback" not in captured.err
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning (matplotlib's "missing glyph \x1b") would print the raw character
        assert main(["report", str(folder), "-o", str(tmp_path / "p.html")]) == 0
    assert_inert(capsys.readouterr().out)


@pytest.mark.slow
def test_run_with_markup_in_suite_name_prints_summary_and_writes_the_report(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "[/b]oops[bold]"\ndescription = "\\u001b]0;pwned\\u0007"\nbackends = ["torch:cpu"]\n'
        "[timing]\nwarmup_s = 0.0\nmin_warmup_calls = 1\nblock_s = 0.001\nmin_samples = 2\nmax_samples = 3\nbudget_s = 0.0\ncanary = false\n"
        '[[workload]]\nname = "matmul"\ndtypes = ["fp32"]\ngrid = { mnk = [[8, 8, 8]] }\n'
    )
    page = tmp_path / "page.html"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--suite", str(suite), "--out", str(tmp_path / "r"), "--report", "-o", str(page)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[/b]oops[bold]: run " in done.stdout
    assert_inert(done.stdout + done.stderr)
    assert page.exists() and "[/b]oops[bold]" in page.read_text(encoding="utf-8")
