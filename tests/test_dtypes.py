import numpy as np
import pytest

from bench.dtypes import round_to


def test_fp16_rounding_matches_numpy():
    x = np.array([1.0001, 65504.0, 1e-8, -3.14159], dtype=np.float32)
    assert np.array_equal(round_to(x, "fp16"), x.astype(np.float16).astype(np.float32))


def test_bf16_round_to_nearest_even():
    # 1 + 2^-8 is exactly halfway between two bf16 values (1 and 1 + 2^-7): ties go to even (1.0).
    # 1 + 3*2^-8 is halfway between 1+2^-7 (odd mantissa) and 1+2^-6: ties go to even (1 + 2^-6).
    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20], dtype=np.float32)
    assert round_to(x, "bf16").tolist() == [1.0, 1 + 2**-6, 1 + 2**-7]


def test_bf16_matches_framework_cast():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(10000).astype(np.float32) * 1000
    expected = torch.from_numpy(x).to(torch.bfloat16).float().numpy()
    assert np.array_equal(round_to(x, "bf16"), expected)


def test_unknown_dtype():
    with pytest.raises(ValueError, match="fp8"):
        round_to(np.zeros(2), "fp8")
