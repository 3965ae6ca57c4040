"""A latency's shape (``Latency``: log-normal from median and p95) must be usable: a p95 that a
median of 0 would ignore, or a spread whose shape or draws overflow, is refused naming the field."""

import math
import re

import pytest
from pydantic import ValidationError

from sim.scenario.common import Latency, _max_ratio
from sim.scenario.load import ScenarioError, load
from tests.conftest import DEFAULT


@pytest.mark.parametrize("median, p95", [(0, 0), (1e-300, 1e-200), (1e-9, "36500d"), (0.1, 0.4), ("30m", "90m"),
                                         (1.0, 1.0), ("36500d", "36500d")])
def test_usable_shapes_are_accepted_and_their_draws_are_finite(median, p95):
    lat = Latency(median=median, p95=p95)
    assert math.isfinite(lat.sigma)
    if lat.median > 0:
        assert math.isfinite(math.exp(math.log(lat.median) + 10 * lat.sigma))


@pytest.mark.parametrize("median, p95, says", [
    (1e-300, "36500d", "too far apart"),  # ln(p95/median) overflows: sigma inf
    (1e-300, 1.2e-200, "too far apart"),  # sigma finite, but draws 10 sd up overflow
    (5e-324, 1.0, "too far apart"),
    (0, "90m", "p95 (5400 s) has no effect with median 0"),
    (0, 1e-300, "has no effect with median 0"),
])
def test_unusable_shapes_are_refused(median, p95, says):
    with pytest.raises(ValidationError, match=re.escape(says)):
        Latency(median=median, p95=p95)


def test_the_allowed_ratio_is_the_boundary():
    median = 1e-300
    limit = _max_ratio(median)
    assert limit == pytest.approx(1.12e100, rel=0.01)
    Latency(median=median, p95=median * limit * 0.999)
    with pytest.raises(ValidationError, match=re.escape(f"at most {limit:.3g}")):
        Latency(median=median, p95=median * limit * 1.01)


def test_the_error_names_the_field_and_stays_on_one_line():
    with pytest.raises(ScenarioError) as info:
        load(DEFAULT, overrides={"identity.batch.duration": {"median": 1e-300, "p95": "36500d"}})
    message = str(info.value)
    assert message.startswith("overrides: identity.batch.duration: p95 (3.1536e+09 s) and median (1e-300 s)")
    assert "\n" not in message
