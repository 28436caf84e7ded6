"""Counter-based random bytes: a pure function, uniform, and independent across streams."""

import numpy as np

from naca.golden_model import rng

from . import naive


def test_mix_matches_the_multiply_form():
    x = np.random.default_rng(0).integers(0, 1 << 32, 1000, dtype=np.uint64)
    assert [int(v) for v in rng.mix32(x.astype(np.uint32))] == [naive.mix(int(v)) for v in x]


def test_bytes_are_a_pure_function_of_their_address():
    key = rng.stream_key(3, rng.Stream.ENCODE, 17, 2)
    assert int(key) == naive.key(3, 1, 17, 2)
    full = rng.vector_bytes(key, 100)
    assert [int(b) for b in full] == [naive.byte_1d(int(key), i) for i in range(100)]
    # batch of samples: each row equals that sample computed alone
    keys = rng.stream_key(3, rng.Stream.ENCODE, np.array([16, 17, 18]), 2)
    assert np.array_equal(rng.vector_bytes(keys, 100)[1], full)


def test_bytes_are_uniform_and_streams_differ():
    keys = rng.stream_key(1, rng.Stream.ENCODE, np.arange(64), 0)
    b = rng.vector_bytes(keys, 1024).ravel()
    counts = np.bincount(b, minlength=256)
    chi2 = ((counts - len(b) / 256) ** 2 / (len(b) / 256)).sum()
    assert chi2 < 350                       # 255 degrees of freedom: p < 1e-4 above 350
    other = rng.vector_bytes(rng.stream_key(1, rng.Stream.ROUND_HIDDEN, np.arange(64), 0), 1024)
    assert abs(np.corrcoef(b, other.ravel())[0, 1]) < 0.02
    nxt = rng.vector_bytes(rng.stream_key(1, rng.Stream.ENCODE, np.arange(1, 65), 0), 1024)
    assert abs(np.corrcoef(b, nxt.ravel())[0, 1]) < 0.02
