import hashlib
import hmac
import json

import numpy as np

from sim.domain.actions import action_payload, sign, verify, webhook_body
from sim.domain.crm import PricingAlertFlow
from sim.domain.events import LOGIN, PAGE_VIEW, REJECT_CODE, PayloadRules, validate
from sim.domain.population import build_population


def test_signature_verifies_independently_and_tampering_fails():
    body = webhook_body([action_payload("003A", "Acme", "Pricing visit", 7, "2026-11-27T08:00:00.000Z")],
                        "2026-11-27T08:00:01.000Z")
    key = b"whsec_test"
    signature = sign(body, key)
    assert signature == hmac.new(key, body, hashlib.sha256).hexdigest()
    assert verify(body, key, signature)
    doc = json.loads(body)
    assert doc["count"] == 1 and doc["events"][0]["ContactId__c"] == "003A"
    doc["events"][0]["ContactId__c"] = "003B"
    tampered = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert not verify(tampered, key, signature)
    assert not verify(body, b"other-key", signature)


def test_flow_assigns_a_high_priority_task_to_the_account_owner():
    pop = build_population(np.random.default_rng(1), prospects=20, anonymous=0, accounts=5, sales_reps=3,
                           hot_share=0.1, mean_devices=1.0)
    contact = pop.org.contacts[pop.contact_ids[4]]
    owner = pop.org.accounts[contact.account_id].owner_id
    flow = PricingAlertFlow(pop.org)
    run = flow.run([{"ContactId__c": contact.id, "Action__c": "Pricing visit"}, {"ContactId__c": "003nobody"},
                    {"ContactId__c": None}])
    assert run.faulted == [1, 2] and run.faults == 2 and len(run.tasks) == 1
    assert not pop.org.tasks  # nothing exists before the transaction commits
    flow.commit(run, 12.5)
    task = pop.org.tasks[0]
    assert (task.owner_id, task.who_id, task.priority, task.created_at) == (owner, contact.id, "High", 12.5)
    assert pop.org.notifications[0].recipient_id == owner and pop.org.notifications[0].target_id == task.id


def test_payload_validation_reports_the_first_broken_rule():
    n = 7
    cols = {"id": np.arange(n), "event_time": np.array([0, 0, np.nan, 1e6, 0, 0, 0], dtype=float),
            "cookie": np.array([1, -1, 1, 1, 1, 1, 1]), "page": np.array([0, 0, 0, 0, -1, 0, 0]),
            "event": np.array([PAGE_VIEW] * 5 + [LOGIN, PAGE_VIEW]), "email": np.full(n, -1),
            "contact": np.full(n, -1), "size_bytes": np.array([10, 10, 10, 10, 10, 10, 300_000])}
    code = validate(cols, np.zeros(n), PayloadRules())
    names = ["valid", "missing_device_id", "missing_event_time", "event_time_in_future", "unknown_page",
             "login_without_identifier", "payload_too_large"]
    assert code.tolist() == [REJECT_CODE[x] for x in names]
