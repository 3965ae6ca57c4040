"""A definitions file: the custom tables, triggers and journeys of one Dynamics environment.

.. code-block:: yaml

    tables: []          # custom tables (see TableSpec); the standard ones are always there
    triggers:           # Dataverse triggers (kind: dataverse, the default) and custom triggers
      - {name: incident_status_updated, table: incident, event: updated, audience: customerid,
         columns: [statuscode], state: ready_to_use}
    journeys:
      - {name: ..., entry: {...}, tiles: [...]}

Each section is validated in turn; errors name the file, the section entry, and (for journeys) the
journey and the tile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.core.errors import validate_model
from sim.core.yamlfile import read_mapping
from sim.domain.dynamics.dataverse import TableSpec
from sim.domain.dynamics.journeys import Journey, JourneyError, parse_journey
from sim.domain.dynamics.triggers import Catalog, TriggerError, parse_trigger

WHAT = "a definitions file is a YAML mapping with tables, triggers and journeys (lists)"


class DefinitionsError(ValueError):
    """A definitions file that cannot be used."""


@dataclass
class Definitions:
    catalog: Catalog
    journeys: dict[str, Journey]


def _items(raw: dict, key: str, source: str) -> list:
    items = raw.get(key) or []
    if not isinstance(items, list):
        raise DefinitionsError(f"{source}: {key}: expected a list")
    return items


def parse_definitions(raw: object, source: str = "definitions") -> Definitions:
    """Tables, triggers (checked against the tables) and journeys (checked against both)."""
    if not isinstance(raw, dict):
        raise DefinitionsError(f"{source}: {WHAT}")
    unknown = set(raw) - {"tables", "triggers", "journeys"}
    if unknown:
        raise DefinitionsError(f"{source}: unknown section {', '.join(sorted(unknown))}; allowed: tables, "
                               "triggers, journeys")
    catalog = Catalog()
    try:
        for i, item in enumerate(_items(raw, "tables", source)):
            catalog.add_table(validate_model(TableSpec, item, f"{source}: tables[{i}]", DefinitionsError,
                                             "a table is a mapping with name and columns"))
        for i, item in enumerate(_items(raw, "triggers", source)):
            catalog.add(parse_trigger(item, f"{source}: triggers[{i}]"))
    except TriggerError as exc:
        raise DefinitionsError(str(exc) if str(exc).startswith(source) else f"{source}: {exc}") from None
    journeys: dict[str, Journey] = {}
    errors = []
    for i, item in enumerate(_items(raw, "journeys", source)):
        try:
            journey = parse_journey(item, catalog, f"{source}: journeys[{i}]")
        except JourneyError as exc:
            errors.append(str(exc))
            continue
        if journey.name in journeys:
            errors.append(f"{source}: journeys[{i}]: journey {journey.name!r} defined twice")
        journeys[journey.name] = journey
    if errors:
        raise JourneyError("\n".join(errors))
    return Definitions(catalog, journeys)


def load_definitions(path: str | Path) -> Definitions:
    return parse_definitions(read_mapping(path, DefinitionsError, WHAT), str(path))
