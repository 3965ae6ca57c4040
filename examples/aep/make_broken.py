"""Write ``broken/*.json``: the seed's chain (``marketing_automation.json``) or the incremental
HubSpot chain (``hubspot_incremental.json``), each with exactly one defect, so that every file is
self-contained. ``python examples/aep/make_broken.py`` (the files are committed; rerun after
changing the valid examples). ``broken/README.md`` lists what each must report."""

import copy
import json
from pathlib import Path

HERE = Path(__file__).parent
SEED = json.loads((HERE / "marketing_automation.json").read_text())
INCR = json.loads((HERE / "hubspot_incremental.json").read_text())
SFMC = json.loads((HERE / "sfmc_v2.json").read_text())


def seed(edit):
    doc = copy.deepcopy(SEED)
    edit(doc)
    return doc


def incr(edit):
    doc = copy.deepcopy(INCR)
    edit({item["endpoint"]: item for item in doc})
    return doc


def flow_schedule(**changes):
    def edit(doc):
        params = doc["POST /flows"]["body"]["scheduleParams"]
        for k, v in changes.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
    return edit


def mapping(index, **changes):
    def edit(doc):
        doc["POST /conversion/mappingSets"]["body"]["mappings"][index].update(changes)
    return edit


def copy_params(params):
    def edit(doc):
        doc["POST /flows"]["body"]["transformations"][0]["params"] = params
    return edit


def target_base(doc):
    doc["POST /targetConnections"]["body"]["baseConnectionId"] = "2fce94c1-9a93-4971-8e94-c19a93097129"


def v1_connection():
    conn = copy.deepcopy(SFMC["POST /connections"])
    conn["body"]["name"] = "Salesforce Marketing Cloud (V1) account"
    conn["body"]["connectionSpec"]["id"] = "ea1c2a08-b722-11eb-8529-0242ac130003"
    return {"POST /connections": conn}


def dataset_seed_schema(doc):
    doc["POST /catalog/dataSets"]["body"]["schemaRef"]["id"] = (
        "https://ns.adobe.com/adobe_mcdp_connectors_stg/schemas/14d89c5bb88e2ff488f23db896be469e7e30bb166bda8722")


BROKEN = {
    "flow_interval_10_minute.json": seed(flow_schedule(interval=10)),
    "flow_interval_string_10_minute.json": seed(flow_schedule(interval="10")),
    "flow_frequency_month.json": seed(flow_schedule(frequency="month", interval=1)),
    "flow_missing_start_time.json": seed(flow_schedule(startTime=None)),
    "flow_start_time_placeholder.json": seed(flow_schedule(startTime="<START TIME>")),
    "flow_copy_without_delta_column.json": incr(copy_params({})),
    "mapping_unknown_xdm_path.json": seed(mapping(0, destinationXdmPath="person.name.nickName")),
    "mapping_identity_without_namespace.json": incr(mapping(1, namespaceCode=None)),
    "mapping_type_mismatch.json": seed(mapping(0, destinationXdmPath="person.birthYear")),
    "target_connection_source_base_connection.json": seed(target_base),
    "sfmc_v1_connection.json": v1_connection(),
    "dataset_seed_schema_ref.json": seed(dataset_seed_schema),
}

if __name__ == "__main__":
    for name, doc in BROKEN.items():
        (HERE / "broken" / name).write_text(json.dumps(doc, indent=2) + "\n")
        print("wrote", name)
