"""The end-of-run table: unavailable backends folded to one row each; labels shown verbatim."""

from rich.console import Console

from bench.results.records import CaseRecord
from bench.summary import summary_table


def case(backend, status, label="matmul[k=8,m=8,n=8]/fp32/eager", **extra):
    framework, _, device = backend.partition(":")
    return CaseRecord.from_dict(
        {
            "case_id": f"{label}@{backend}",
            "workload": "matmul",
            "params": {},
            "dtype": "fp32",
            "mode": "eager",
            "backend": {"name": backend, "framework": framework, "device": device},
            "status": status,
            **extra,
        }
    )


def render(cases):
    console = Console(width=250, record=True)
    console.print(summary_table(cases))
    return console.export_text()


def test_unavailable_backend_is_one_row_and_labels_keep_their_brackets():
    cases = [
        case("torch:cuda", "unavailable", reason="no CUDA device"),
        case("torch:cuda", "unavailable", label="matmul[k=16,m=16,n=16]/fp32/eager", reason="no CUDA device"),
        case(
            "torch:cpu",
            "ok",
            timing={"samples": [0.0019, 0.002, 0.0021]},
            correctness={"rel_error": 1e-7, "tolerance": 2e-5, "passed": True},
            gflops=12.5,
            notes=["overhead-bound: twice the work took 1.01x the time"],
        ),
    ]
    text = render(cases)
    assert text.count("no CUDA device") == 1 and "(2 cases)" in text
    assert "matmul[k=8,m=8,n=8]/fp32/eager" in text  # rich markup would otherwise eat [k=8,...]
    assert "2 ms" in text and "12.5" in text and "overhead-bound" in text
    assert "1 ok, 2 unavailable" in text


def test_every_flag_is_shown_beside_the_number_with_its_note():
    ok = case(
        "torch:cpu",
        "ok",
        timing={"samples": [0.0019, 0.002, 0.0021]},
        flags=["overhead-bound", "contended", "some-future-flag"],
        notes=["overhead-bound: twice the work took 1.01x the time", "contended: load average 3.2 on 2 cores"],
    )
    row = next(line for line in render([ok]).splitlines() if "torch:cpu" in line)
    assert "overhead-bound, contended, some-future-flag" in row and "2 ms" in row
    assert "contended: load average 3.2" in row
