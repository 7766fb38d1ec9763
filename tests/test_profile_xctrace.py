"""xctrace: the record/export commands and the export-XML parser (unverified on hardware until run on a Mac).

The XML fixtures follow the format docs/apple-silicon.md describes for xctrace's export
(xctrace ``export --xpath`` output): ``<trace-query-result>`` → ``<node>`` → ``<schema>`` with
``<col><mnemonic>`` → positional ``<row>`` cells; interned values (``id``/``fmt`` first, ``ref``
after, ids global to the document); ``<sentinel/>`` for empty cells; integer ns times; a second
node without a schema (Xcode 26.6). The ``os-signpost-interval`` columns are the 18 of §2.3. The
messages are PyTorch's (``aten/src/ATen/mps/MPSProfiler.mm``: ``OperationInfo::toString``,
``CpuFbInfo::toString``, ``CopyInfo::toString``).
"""

import io
from pathlib import Path

import pytest

from bench.profile import xctrace
from bench.profile.summary import DEVICE_TO_HOST, HOST_TO_DEVICE, ProfileSummary

COLUMNS = [
    "start",
    "duration",
    "layout-qualifier",
    "name",
    "category",
    "subsystem",
    "identifier",
    "process",
    "end-process",
    "start-thread",
    "end-thread",
    "start-message",
    "end-message",
    "start-backtrace",
    "end-backtrace",
    "start-emit-location",
    "end-emit-location",
    "signature",
]


def schema_xml(name="os-signpost-interval"):
    cols = "".join(f"<col><mnemonic>{c}</mnemonic><name>{c.title()}</name><engineering-type>x</engineering-type></col>" for c in COLUMNS)
    return f'<schema name="{name}">{cols}</schema>'


def row(cells):
    """cells: mnemonic -> xml snippet; missing columns are sentinels."""
    return "<row>" + "".join(cells.get(c, "<sentinel/>") for c in COLUMNS) + "</row>"


FIRST = row(
    {
        "start": '<start-time id="1" fmt="00:01.000.000">1000000000</start-time>',
        "duration": '<duration id="2" fmt="250.00 µs">250000</duration>',
        "name": '<string id="3" fmt="PyTorchOperationIntervals">PyTorchOperationIntervals</string>',
        "category": '<string id="4" fmt="Intervals">Intervals</string>',
        "subsystem": '<subsystem id="5" fmt="PyTorchMPS">PyTorchMPS</subsystem>',
        "process": '<process id="6" fmt="python3.11 (4242)"><pid id="7" fmt="4242">4242</pid></process>',
        "start-thread": '<thread id="8" fmt="Main Thread 0x1 (python3.11, pid: 4242)"><tid id="9" fmt="0x1">1</tid><process ref="6"/></thread>',
        "start-message": '<os-log-metadata id="10" fmt="aten::mps_linear:f32[64,128]:f32[512,128] (id=G1, run=1)"><metadata-string>x</metadata-string></os-log-metadata>',
    }
)
SECOND_SAME_OP = row(
    {  # interned values referenced
        "start": '<start-time id="11" fmt="00:01.001">1001000000</start-time>',
        "duration": '<duration id="12" fmt="150.00 µs">150000</duration>',
        "name": '<string ref="3"/>',
        "category": '<string ref="4"/>',
        "subsystem": '<subsystem ref="5"/>',
        "process": '<process ref="6"/>',
        "start-thread": '<thread ref="8"/>',
        "start-message": '<os-log-metadata id="13" fmt="aten::mps_linear:f32[64,512]:f32[128,512] (id=G2, run=1)"/>',
    }
)
FALLBACK = row(
    {
        "start": '<start-time id="14" fmt="00:01.002">1002000000</start-time>',
        "duration": '<duration id="15" fmt="1.50 ms">1500000</duration>',
        "name": '<string id="16" fmt="PyTorchCPUFallbackIntervals">PyTorchCPUFallbackIntervals</string>',
        "subsystem": '<subsystem ref="5"/>',
        "start-message": '<os-log-metadata id="17" fmt="CPU Fallback::siliconbench::softshrink_host:MPS:Float[64, 512] (id=1, run=1, CopyOverhead=256.00 KB)"/>',
    }
)
COPY = row(
    {
        "duration": '<duration id="18" fmt="100.00 µs">100000</duration>',
        "name": '<string id="19" fmt="PyTorchCopyIntervals">PyTorchCopyIntervals</string>',
        "subsystem": '<subsystem ref="5"/>',
        "start-message": '<os-log-metadata id="20" fmt="BlitCopySync: MPS:Float[64, 512] --> CPU:Float[64, 512] (len=128.00 KB)"/>',
    }
)
COPY_BACK = row(
    {
        "duration": '<duration id="21" fmt="80.00 µs">80000</duration>',
        "name": '<string ref="19"/>',
        "subsystem": '<subsystem ref="5"/>',
        "start-message": '<os-log-metadata id="22" fmt="MemCopy: CPU:Float[64, 512] --> MPS:Float[64, 512] (len=128.00 KB)"/>',
    }
)
APPLE = row(
    {  # another subsystem's interval: ignored
        "duration": '<duration id="23" fmt="9 ms">9000000</duration>',
        "name": '<string id="24" fmt="CommandBuffer">CommandBuffer</string>',
        "subsystem": '<subsystem id="25" fmt="com.apple.Metal.AGXSignposts">com.apple.Metal.AGXSignposts</subsystem>',
    }
)
EXPORT = (
    '<?xml version="1.0"?>\n<trace-query-result>'
    f"<node xpath='//trace-toc[1]/run[1]/data[1]/table[7]'>{schema_xml()}{FIRST}{SECOND_SAME_OP}{FALLBACK}{COPY}{COPY_BACK}{APPLE}</node>"
    '<node xpath="//trace-toc[1]/run[1]/data[1]/table[8]"><row><duration ref="2"/></row></node>'  # schema-less node
    "</trace-query-result>"
)


def test_record_command_launches_the_child_with_os_signpost_instrument():
    cmd = xctrace.record_command(
        Path("out/mps.trace"),
        ["/venv/bin/python", "-m", "bench.profile.child", "req.json"],
        {"PYTORCH_MPS_LOG_PROFILE_INFO": "8", "JAX_PLATFORMS": "cpu"},
        time_limit_s=120,
    )
    assert cmd[:3] == ["xcrun", "xctrace", "record"]
    assert cmd[cmd.index("--template") + 1] == "Metal System Trace"
    assert cmd[cmd.index("--instrument") + 1] == "os_signpost"
    assert cmd[cmd.index("--output") + 1] == "out/mps.trace"
    assert "--no-prompt" in cmd and cmd[cmd.index("--time-limit") + 1] == "120s"
    envs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--env"]
    assert envs == ["JAX_PLATFORMS=cpu", "PYTORCH_MPS_LOG_PROFILE_INFO=8"]
    launch_at = cmd.index("--launch")  # --launch must be last, followed by -- and the command
    assert cmd[launch_at + 1] == "--" and cmd[launch_at + 2 :] == ["/venv/bin/python", "-m", "bench.profile.child", "req.json"]


def test_export_commands():
    assert xctrace.toc_command(Path("t.trace")) == ["xcrun", "xctrace", "export", "--input", "t.trace", "--toc"]
    cmd = xctrace.export_command(Path("t.trace"), "os-signpost-interval", Path("s.xml"))
    assert cmd[cmd.index("--xpath") + 1] == '/trace-toc/run[@number="1"]/data/table[@schema="os-signpost-interval"]'
    assert cmd[cmd.index("--output") + 1] == "s.xml"


@pytest.mark.parametrize(
    "schemas, expected",
    [
        (["os-signpost", "os-signpost-interval", "metal-gpu-intervals"], "os-signpost-interval"),
        (["OSSignpostIntervals", "time-info"], "OSSignpostIntervals"),
        (["metal-gpu-intervals"], None),
    ],
)
def test_signpost_schema_from_toc(schemas, expected):
    tables = "".join(f'<table schema="{s}" subsystem="x"/>' for s in schemas)
    toc = (
        f'<?xml version="1.0"?><trace-toc><run number="1"><info><summary><template-name>Metal System Trace</template-name>'
        f"</summary></info><processes/><data>{tables}</data></run></trace-toc>"
    )
    assert xctrace.signpost_schema(toc) == expected


def test_iter_rows_resolves_refs_sentinels_and_skips_schemaless_nodes():
    rows = list(xctrace.iter_rows(io.BytesIO(EXPORT.encode())))
    assert len(rows) == 6
    first, second = rows[0], rows[1]
    assert first["duration"].raw == "250000" and first["name"].text == "PyTorchOperationIntervals"
    assert second["name"].text == "PyTorchOperationIntervals" and second["subsystem"].text == "PyTorchMPS"  # via ref
    assert second["process"].text == "python3.11 (4242)"
    assert first["end-message"] is None  # sentinel
    assert rows[3]["start"] is None


def test_apply_intervals_builds_ops_fallbacks_and_copies(tmp_path):
    path = tmp_path / "signposts.xml"
    path.write_text(EXPORT, encoding="utf-8")
    summary = ProfileSummary(xctrace.TOOL, "mps", calls=2, case_time_s=0.002)
    assert xctrace.apply_intervals(summary, xctrace.iter_rows(path)) == 5
    ops = {op.name: op for op in summary.ops}
    assert (ops["mps_linear"].count, ops["mps_linear"].total_s, ops["mps_linear"].device) == (2, pytest.approx(400e-6), "mps")
    fb = ops["siliconbench::softshrink_host"]
    assert fb.fallback and fb.device == "cpu" and fb.total_s == pytest.approx(1.5e-3)
    copies = {c.direction: (c.count, c.bytes) for c in summary.copies}
    assert copies == {DEVICE_TO_HOST: (1, 128 * 1024), HOST_TO_DEVICE: (1, 128 * 1024)}


def test_private_messages_are_noted():
    xml = (
        f"<trace-query-result><node>{schema_xml('OSSignpostIntervals')}"
        + row(
            {
                "duration": '<duration id="1">5</duration>',
                "name": '<string id="2">PyTorchOperationIntervals</string>',
                "subsystem": '<string id="3">PyTorchMPS</string>',
                "start-message": '<os-log-metadata id="4" fmt="&lt;private&gt;"/>',
            }
        )
        + "</node></trace-query-result>"
    )
    summary = ProfileSummary(xctrace.TOOL, "mps")
    assert xctrace.apply_intervals(summary, xctrace.iter_rows(io.BytesIO(xml.encode()))) == 1
    assert summary.ops[0].name == "<private>" and any("120162" in n for n in summary.notes)


def test_profile_case_under_xctrace_records_then_exports_signposts(monkeypatch, tmp_path):
    """launch.profile_case with --xctrace on macOS: the child is launched by xctrace record, then the
    TOC is read, the signpost table exported and parsed into extra['signposts']."""
    from bench.backends import BackendName
    from bench.profile import launch, mps
    from bench.workloads.base import Case

    monkeypatch.setattr(launch.platform, "system", lambda: "Darwin")
    seen = {}

    def fake_child(command, env, cwd, reply_path, stderr_path, timeout_s, tool, device):
        seen["record"] = command
        Path(command[command.index("--output") + 1]).mkdir()  # xctrace writes the .trace bundle
        assert env["PYTORCH_MPS_LOG_PROFILE_INFO"] == "8" and env["PYTORCH_ENABLE_MPS_FALLBACK"] == "1"
        return ProfileSummary(mps.TOOL, "mps", calls=3, case_time_s=0.002, extra={"signpost_calls": 2})

    class Done:
        def __init__(self, stdout=""):
            self.returncode, self.stdout = 0, stdout

    def fake_run(cmd, **kwargs):
        seen.setdefault("exports", []).append(cmd)
        if "--toc" in cmd:
            return Done('<trace-toc><run number="1"><data><table schema="os-signpost-interval"/></data></run></trace-toc>')
        Path(cmd[cmd.index("--output") + 1]).write_text(EXPORT, encoding="utf-8")
        return Done()

    monkeypatch.setattr(launch, "_run_child", fake_child)
    monkeypatch.setattr(launch.subprocess, "run", fake_run)
    case = Case.make("fallback_act", {"batch": 64, "dim": 128, "hidden": 512, "act": "host"}, "fp32", "eager")
    summary = launch.profile_case(BackendName("torch", "mps"), case, tmp_path / "c", tmp_path, launch.ProfileOptions(xctrace=True))

    record = seen["record"]
    assert record[:3] == ["xcrun", "xctrace", "record"] and "os_signpost" in record
    assert record[record.index("--launch") + 2 :][1:3] == ["-m", "bench.profile.child"]
    assert "--env" in record and "PYTORCH_MPS_LOG_PROFILE_INFO=8" in record
    toc, export = seen["exports"]
    assert "--toc" in toc and export[export.index("--xpath") + 1].endswith('[@schema="os-signpost-interval"]')
    signposts = summary.extra["signposts"]
    assert signposts["calls"] == 2
    assert any(op["fallback"] and op["name"] == "siliconbench::softshrink_host" for op in signposts["ops"])
    assert "c/mps.trace" in summary.artifacts and "c/signposts.xml" in summary.artifacts
    # The MPS log was empty in this fake: the signposts stand in for the op table.
    assert summary.status == "ok" and any(op.fallback for op in summary.ops)
