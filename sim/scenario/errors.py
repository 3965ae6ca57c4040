"""What scenario errors and overrides are, without the models (cheap to import: the command line
names them before any scenario is read)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ScenarioError(ValueError):
    """A scenario that cannot be used, with a message naming the field and what is allowed."""


class Overrides(dict):
    """Dotted overrides that remember where they came from (``--set`` on the command line,
    ``overrides`` in Python), so that an error names it."""

    def __init__(self, items: Mapping[str, Any] | None = None, source: str = "overrides") -> None:
        super().__init__(items or {})
        self.source = source
