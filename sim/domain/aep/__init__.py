"""Adobe Experience Platform dataflows (seeds 002–003): the pure logic, no simulated time.

One module per concept, in the order the platform's objects are created:

* :mod:`~sim.domain.aep.xdm` — ad-hoc and target XDM schemas (class + field groups -> paths, types);
* :mod:`~sim.domain.aep.connections` — base/source/target connections, datasets, connection specs;
* :mod:`~sim.domain.aep.mappings` — mapping sets: validation and ``apply(rows)`` -> XDM records;
* :mod:`~sim.domain.aep.flowspec` — the ``CRMToAEP`` flow spec, Copy and Mapping transformations;
* :mod:`~sim.domain.aep.schedules` — ``PeriodicSchedule`` (JSON Schema validated) and run times;
* :mod:`~sim.domain.aep.delta` — incremental loads: which rows each run copies (or full reload);
* :mod:`~sim.domain.aep.dataflow` — the dataflow tying them, and one run's selection + mapping;
* :mod:`~sim.domain.aep.profile` — Real-Time Customer Profile: identity graph + merge policies;
* :mod:`~sim.domain.aep.sources` — HubSpot and Marketing Cloud V2 API call plans (pages, tokens,
  rate limits) for actors to replay;
* :mod:`~sim.domain.aep.api` — ``validate_bodies``: the Flow Service JSON bodies checked as the
  platform does; :mod:`sim.cli.aep` is its command line.

Every rule violation is an :class:`~sim.domain.aep.problems.AepError` holding one
:class:`~sim.domain.aep.problems.Problem` per field.
"""

from sim.domain.aep.api import Sandbox, Validation, validate_bodies
from sim.domain.aep.connections import BaseConnection, Dataset, SourceConnection, TargetConnection
from sim.domain.aep.dataflow import Dataflow, RunOutput
from sim.domain.aep.delta import DeltaColumn, DeltaCopy, Selection
from sim.domain.aep.flowspec import CRM_TO_AEP, FlowSpec
from sim.domain.aep.mappings import MappedBatch, MappingSet, XdmRecord
from sim.domain.aep.problems import AepError, Problem
from sim.domain.aep.profile import MergePolicy, RealTimeProfile
from sim.domain.aep.schedules import PeriodicSchedule
from sim.domain.aep.sources import Call, ReadPlan, SourceApi, hubspot_limits, sfmc_v2_limits, source_api_for
from sim.domain.aep.xdm import AdHocSchema, XdmSchema

__all__ = [
           "CRM_TO_AEP",
           "AdHocSchema",
           "AepError",
           "BaseConnection",
           "Call",
           "Dataflow",
           "Dataset",
           "DeltaColumn",
           "DeltaCopy",
           "FlowSpec",
           "MappedBatch",
           "MappingSet",
           "MergePolicy",
           "PeriodicSchedule",
           "Problem",
           "ReadPlan",
           "RealTimeProfile",
           "RunOutput",
           "Sandbox",
           "Selection",
           "SourceApi",
           "SourceConnection",
           "TargetConnection",
           "Validation",
           "XdmRecord",
           "XdmSchema",
           "hubspot_limits",
           "sfmc_v2_limits",
           "source_api_for",
           "validate_bodies",
]
