"""The common profile summary, trace-event self times, region windows and the fallback rules."""

import gzip
import json

import pytest

from bench.profile.fallback import Step, host_window_ops, is_host_callback, is_tf_host_only
from bench.profile.summary import DEVICE_TO_HOST, HOST_TO_DEVICE, ProfileSummary
from bench.profile.trace_events import (
    TraceEvent,
    add_cupti_copies,
    complete_events,
    in_window,
    load_chrome_trace,
    region_events,
    self_times,
)


def test_add_op_accumulates_and_share_and_coverage():
    s = ProfileSummary("tool", "cpu", calls=4, case_time_s=0.010)  # 40 ms profiled
    s.add_op("mm", 0.020, count=4)
    s.add_op("mm", 0.010, count=2)
    s.add_op("add", 0.006, count=4)
    mm = next(op for op in s.ops if op.name == "mm")
    assert (mm.count, mm.total_s) == (6, pytest.approx(0.030))
    assert mm.mean_s == pytest.approx(0.005)
    assert s.share(0.030) == pytest.approx(0.75)
    assert s.coverage == pytest.approx(0.9)
    assert [op["name"] for op in s.to_dict()["ops"]] == ["mm", "add"]  # sorted by total time


def test_coverage_counts_device_ops_copies_and_fallbacks_not_host_dispatch():
    s = ProfileSummary("tool", "cuda", calls=2, case_time_s=0.005)  # 10 ms profiled
    s.add_op("aten::mm", 0.004, count=2, device="cpu")  # host dispatch, overlaps the kernel
    s.add_op("sgemm_kernel", 0.006, count=2, device="cuda")
    s.add_op("custom::act", 0.002, count=2, device="cpu")
    s.mark_fallbacks({"custom::act"})
    s.add_copy(DEVICE_TO_HOST, 4096, 0.001)
    assert s.coverage == pytest.approx((0.006 + 0.002 + 0.001) / 0.010)
    act = next(op for op in s.ops if op.name == "custom::act")
    assert act.fallback and act.device == "cpu"


def test_coverage_is_none_without_ops_or_time():
    assert ProfileSummary("tool", "cpu", calls=3, case_time_s=0.1).coverage is None
    empty_time = ProfileSummary("tool", "cpu", calls=0)
    empty_time.add_op("x", 1.0)
    assert empty_time.coverage is None


def test_compact_keeps_top_ops_and_every_fallback_and_round_trips():
    s = ProfileSummary("tool", "mps", calls=1, case_time_s=1.0)
    for i in range(15):
        s.add_op(f"op{i}", 0.05 - i * 0.001, device="mps")
    s.add_op("slow::fallback", 0.0001, device="cpu", fallback=True)
    s.add_copy(HOST_TO_DEVICE, 10, 0.001, count=2)
    compact = s.compact(top=5)
    assert [op["name"] for op in compact["ops"]] == ["op0", "op1", "op2", "op3", "op4", "slow::fallback"]
    assert compact["ops_total"] == 16
    assert compact["copies"] == [{"direction": HOST_TO_DEVICE, "count": 2, "bytes": 10, "total_s": 0.001}]
    assert set(compact["ops"][0]) >= {"name", "count", "total_s", "mean_s", "share", "device", "fallback"}
    again = ProfileSummary.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again.to_dict() == s.to_dict()


def _event(name, start, dur, track=(1, 1), **args):
    return TraceEvent(name, start, dur, "/host:CPU", "t", track, args)


def test_self_times_subtract_only_selected_nested_events():
    events = [
        _event("outer", 0, 100, op=1),
        _event("inner", 10, 30, op=1),
        _event("bookkeeping", 50, 20),  # not selected: stays part of outer
        _event("other_track", 0, 100, track=(1, 2), op=1),
        _event("after", 100, 5, op=1),
    ]
    got = {e.name: us for e, us in self_times(events, lambda e: "op" in e.args)}
    assert got == {"outer": 70, "inner": 30, "other_track": 100, "after": 5}


def test_in_window_and_region_events_keep_only_the_region():
    events = [_event("warm", 0, 10), _event("siliconbench::region", 20, 50), _event("op", 25, 10), _event("late", 80, 5)]
    assert [e.name for e in in_window(events, "siliconbench::region")] == ["op"]
    assert in_window(events[:1], "siliconbench::region") is None
    s = ProfileSummary("t", "cpu")
    assert [e.name for e in region_events(s, events[:1])] == ["warm"] and s.notes  # no mark: all, with a note


def test_chrome_trace_loading_resolves_names_and_reads_gzip(tmp_path):
    trace = {
        "traceEvents": [
            {"ph": "M", "pid": 7, "name": "process_name", "args": {"name": "/device:GPU:0"}},
            {"ph": "M", "pid": 7, "tid": 3, "name": "thread_name", "args": {"name": "Stream #14(Compute,Memset)"}},
            {"ph": "X", "pid": 7, "tid": 3, "ts": 5.0, "dur": 2.5, "name": "gemm", "args": {"hlo_op": "dot.1"}},
            {"ph": "i", "pid": 7, "tid": 3, "ts": 6.0, "name": "instant"},
        ]
    }
    path = tmp_path / "t.trace.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump(trace, f)
    (event,) = complete_events(load_chrome_trace(path))
    assert (event.name, event.process, event.thread, event.start_us, event.dur_us) == (
        "gemm",
        "/device:GPU:0",
        "Stream #14(Compute,Memset)",
        5.0,
        2.5,
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"nothing": 1}')
    with pytest.raises(ValueError, match="traceEvents"):
        load_chrome_trace(bad)


def test_cupti_copies_read_bytes_from_memcpy_details():
    # Format of xla/backends/profiler/gpu/cupti_collector.cc: "kind_src:… kind_dst:… size:N dest:… async:…".
    s = ProfileSummary("t", "cuda")
    add_cupti_copies(
        s,
        [
            TraceEvent(
                "MemcpyD2H",
                0,
                3,
                "/device:GPU:0",
                "Stream #1",
                (1, 1),
                {"memcpy_details": "kind_src:device kind_dst:pageable size:4096 dest:0 async:0"},
            ),
            TraceEvent(
                "MemcpyH2D",
                5,
                2,
                "/device:GPU:0",
                "Stream #1",
                (1, 1),
                {"memcpy_details": "kind_src:pageable kind_dst:device size:1024 dest:0 async:1"},
            ),
            TraceEvent("some_kernel", 8, 2, "/device:GPU:0", "Stream #1", (1, 1), {}),
        ],
    )
    got = {c.direction: (c.count, c.bytes, c.total_s) for c in s.copies}
    assert got == {DEVICE_TO_HOST: (1, 4096, 3e-6), HOST_TO_DEVICE: (1, 1024, 2e-6)}


def test_host_window_flags_ops_between_device_to_host_and_back():
    steps = [
        Step("aten::linear", ("sgemm",)),
        Step("aten::_to_copy", ("Memcpy DtoH (Device -> Pageable)",)),
        Step("custom::softshrink_host"),
        Step("aten::_to_copy", ("Memcpy HtoD (Pageable -> Device)",)),
        Step("aten::view"),  # no kernel but on the device side: not flagged
        Step("aten::linear", ("sgemm",)),
    ]
    assert host_window_ops(steps, "cuda") == {"custom::softshrink_host"}
    assert host_window_ops(steps, "cpu") == set()  # nothing falls back on a CPU case


def test_name_rules_for_jax_and_tf_fallbacks():
    assert is_host_callback("pure_callback.1", "cuda") and not is_host_callback("pure_callback.1", "cpu")
    assert not is_host_callback("dot_fusion", "cuda")
    assert is_tf_host_only("PyFuncStateless", "gpu") and not is_tf_host_only("PyFuncStateless", "cpu")
    assert not is_tf_host_only("MatMul", "gpu")
