"""Dynamics 365 Customer Insights – Journeys (seed 001): Dataverse triggers and journeys, pure logic.

The chain, each step one module:

1. :mod:`.dataverse` — tables, records and the :class:`ChangeEvent` of each create or update;
2. :mod:`.triggers` — Dataverse and custom triggers turn changes into :class:`TriggerEvent`\\ s
   for a customer (:class:`Audience`); a :class:`Catalog` holds an environment's tables and triggers;
3. :mod:`.journeys` — journey definitions, checked against the catalog; :mod:`.templates` renders
   their personalised messages; :mod:`.definitions` loads tables, triggers and journeys from YAML;
4. :mod:`.engine` — the :class:`JourneyEngine` moves customers through a journey and returns
   effects (messages, records, timers, outcomes); an actor gives them time.

Nothing here imports simpy.
"""

from sim.domain.dynamics.dataverse import (
    STANDARD_TABLES,
    Audience,
    ChangeEvent,
    Column,
    DataverseError,
    DataverseStore,
    Ref,
    Table,
    TableSpec,
)
from sim.domain.dynamics.definitions import Definitions, DefinitionsError, load_definitions, parse_definitions
from sim.domain.dynamics.engine import (
    COMPLETED,
    EXITED,
    GOAL_REACHED,
    MISSING_ATTRIBUTE,
    ActionFailed,
    CreateRecord,
    Effect,
    Entered,
    JourneyCounts,
    JourneyEngine,
    Outcome,
    Send,
    StartTimer,
)
from sim.domain.dynamics.journeys import Journey, JourneyError, check_journey, load_journey, parse_journey
from sim.domain.dynamics.templates import PersonalisationError, Template, TemplateError, compile_template
from sim.domain.dynamics.triggers import (
    MAX_CUSTOM_ATTRIBUTES,
    Catalog,
    CustomTrigger,
    DataverseTrigger,
    Trigger,
    TriggerError,
    TriggerEvent,
    parse_trigger,
)

__all__ = [
    "COMPLETED",
    "EXITED",
    "GOAL_REACHED",
    "MAX_CUSTOM_ATTRIBUTES",
    "MISSING_ATTRIBUTE",
    "STANDARD_TABLES",
    "ActionFailed",
    "Audience",
    "Catalog",
    "ChangeEvent",
    "Column",
    "CreateRecord",
    "CustomTrigger",
    "DataverseError",
    "DataverseStore",
    "DataverseTrigger",
    "Definitions",
    "DefinitionsError",
    "Effect",
    "Entered",
    "Journey",
    "JourneyCounts",
    "JourneyEngine",
    "JourneyError",
    "Outcome",
    "PersonalisationError",
    "Ref",
    "Send",
    "StartTimer",
    "Table",
    "TableSpec",
    "Template",
    "TemplateError",
    "Trigger",
    "TriggerError",
    "TriggerEvent",
    "check_journey",
    "compile_template",
    "load_definitions",
    "load_journey",
    "parse_definitions",
    "parse_journey",
    "parse_trigger",
]
