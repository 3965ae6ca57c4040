"""Exact percentiles of large arrays, checked against numpy to the last bit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50),
       st.integers(200_000, 260_000), st.integers(0, 2**32 - 1))
def test_exact_percentiles_equal_numpy_on_large_arrays(head, n, seed):
    """The histogram-guided selection gives numpy.percentile's values to the last bit."""
    from sim.results.run_result import percentiles

    rng = np.random.default_rng(seed)
    values = np.concatenate([np.array(head), rng.lognormal(3, 2, n), np.repeat(rng.uniform(0, 100, 3), 5000)])
    qs = (0, 1, 50, 90, 95, 99, 100)
    assert percentiles(values, qs) == [float(v) for v in np.percentile(values, qs)]
