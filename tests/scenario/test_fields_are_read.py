"""Every scenario field is read by some code: a setting that is declared but never used (the
docs promise a knob that does nothing) fails this test."""

import re

from pydantic import BaseModel

from sim.core.errors import _field_models
from sim.scenario.models import MODELS
from tests.conftest import ROOT

COMMON = {"name", "description", "horizon", "start", "seed", "faults", "variants", "system"}  # read by the runner


def fields(model: type[BaseModel], seen: set) -> list[tuple[str, str]]:
    if model in seen:
        return []
    seen.add(model)
    out = []
    for name, info in model.model_fields.items():
        out.append((model.__name__, name))
        inner, _ = _field_models(info.annotation)
        if inner is not None:
            out += fields(inner, seen)
    return out


def code_outside_the_models() -> str:
    """All code but the field declarations: the modules outside sim/scenario, and the models' own
    methods (``self.<field>``)."""
    files = [p for p in (ROOT / "sim").rglob("*.py") if "scenario" not in p.parts]
    files += [ROOT / "sim" / "scenario" / "load.py"]
    uses = [m for p in (ROOT / "sim" / "scenario").glob("*.py") for m in re.findall(r"self\.\w+", p.read_text())]
    return "\n".join([p.read_text() for p in files] + uses)


def test_every_scenario_field_is_read_somewhere():
    code = code_outside_the_models()
    unread = []
    for system, model in MODELS.items():
        for owner, name in fields(model, set()):
            if name in COMMON:
                continue
            if not re.search(rf"\.{name}\b|[\"']{name}[\"']", code):
                unread.append(f"{system}: {owner}.{name}")
    assert not unread, "declared but never read: " + ", ".join(unread)


def test_the_walk_finds_nested_fields():
    names = {name for _, name in fields(MODELS["data_cloud"], set())}
    assert {"rate_per_s", "batch_size", "retention", "partition_key", "jitter"} <= names
