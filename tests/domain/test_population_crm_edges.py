"""Edges of the population (sim.domain.population) and of the CRM side (sim.domain.crm), from their
module docstrings: Salesforce-style ids (3-character prefix + 15 base-62 digits), people numbered
prospects first, each person's cookies a contiguous range, only prospects hot or known, lifecycle
stages from their own random stream; the Flow's lookups, faults, Task and notification, and its
transaction committing at ``t``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sim.domain.crm import Account, Contact, CrmOrg, PricingAlertFlow, User
from sim.domain.population import _B62, Population, build_population, sf_id


def b62_value(digits: str) -> int:
    """Independent decoder: base-62 digits 0-9, A-Z, a-z, most significant first."""
    alphabet = [chr(c) for c in range(48, 58)] + [chr(c) for c in range(65, 91)] + [chr(c) for c in range(97, 123)]
    value = 0
    for ch in digits:
        value = value * 62 + alphabet.index(ch)
    return value


@pytest.mark.parametrize("n", [0, 1, 9, 10, 35, 36, 61, 62, 63, 62 ** 2, 123_456_789, 62 ** 15 - 1])
def test_sf_ids_are_the_prefix_and_fifteen_base62_digits(n):
    got = sf_id("003", n)
    assert len(got) == 18 and got[:3] == "003"
    assert b62_value(got[3:]) == n


def test_sf_id_digit_order():
    assert sf_id("001", 0) == "001" + "0" * 15
    assert sf_id("001", 1) == "001" + "0" * 14 + "1"
    assert sf_id("001", 61) == "001" + "0" * 14 + "z"
    assert sf_id("001", 62) == "001" + "0" * 13 + "10"
    assert sf_id("005", 62 ** 15 - 1) == "005" + "z" * 15
    assert _B62 == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def pop(seed: int = 0, **kw) -> Population:
    args: dict[str, Any] = {"prospects": 30, "anonymous": 20, "accounts": 6, "sales_reps": 4, "hot_share": 0.5,
            "mean_devices": 2.0}
    args.update(kw)
    return build_population(np.random.default_rng(seed), **args)


def test_reps_accounts_and_contacts_are_linked_and_numbered_from_one():
    p = pop()
    org = p.org
    assert list(org.users) == [sf_id("005", r) for r in range(1, 5)]
    assert all(u.id == uid and u.name.endswith(" (AE)") for uid, u in org.users.items())
    assert list(org.accounts) == [sf_id("001", a) for a in range(1, 7)]
    assert all(a.owner_id in org.users for a in org.accounts.values())
    assert p.contact_ids == [sf_id("003", i) for i in range(1, 31)] == list(org.contacts)
    assert len(set(p.emails)) == 30
    for i, cid in enumerate(p.contact_ids):
        c = org.contacts[cid]
        assert c.id == cid and c.email == p.emails[i] and c.account_id in org.accounts
        account = org.accounts[c.account_id]
        assert org.owner_of_contact(cid) == (c, account, org.users[account.owner_id])
        # the e-mail is the contact's name at the account's company domain
        first, last = c.name.split(" ", 1)
        company = org.accounts[c.account_id].name.split()[0].lower()
        assert c.email == f"{first.lower()}.{last.lower()}{i}@{company}.example"
    assert org.users[sf_id("005", 1)].name == "Alice Martin (AE)"
    assert org.contacts[sf_id("003", 1)].name == "Alice Martin"
    assert org.accounts[sf_id("001", 1)].name == "Acme Industries"


def test_each_account_draws_its_owner_among_every_rep():
    p = pop(accounts=200, sales_reps=3, prospects=5)
    owners = [a.owner_id for a in p.org.accounts.values()]
    assert set(owners) == set(p.org.users)  # 200 draws from 3 reps: each is drawn (else p < 3 × (2/3)^200)
    contacts_accounts = {c.account_id for c in p.org.contacts.values()}
    assert contacts_accounts <= set(p.org.accounts)


def test_account_names_stay_distinct_past_the_name_combinations():
    p = pop(accounts=16 * 12 * 2 + 5, prospects=3)
    names = [a.name for a in p.org.accounts.values()]
    assert len(set(names)) == len(names)
    assert names[16 * 12 - 1] == "Wonka Insurance" and names[16 * 12] == "Acme Industries 2"
    assert names[2 * 16 * 12] == "Acme Industries 3" and names[0] == "Acme Industries"
    assert names[16] == "Acme Systems"


def test_rep_and_contact_names_cycle_through_the_name_lists():
    p = pop(sales_reps=21, prospects=41, accounts=1)
    reps = [u.name for u in p.org.users.values()]
    assert len(set(reps)) == 21  # 20 first names and 18 last names: no repeat this early
    contacts = [c.name for c in p.org.contacts.values()]
    assert len(set(contacts)) == 41
    assert contacts[20] == "Alice Bernard" and contacts[40] == "Alice Dubois"


def test_people_are_prospects_then_anonymous_and_only_prospects_are_hot():
    p = pop(hot_share=1.0)
    assert (p.n_prospects, p.n_anonymous, p.n_people) == (30, 20, 50)
    assert p.hot[:30].all() and not p.hot[30:].any() and len(p.hot) == 50
    assert not pop(hot_share=0.0).hot.any()
    share = pop(prospects=4000, anonymous=0, hot_share=0.25).hot.mean()
    assert abs(share - 0.25) < 4 * math.sqrt(0.25 * 0.75 / 4000)


def test_cookies_are_contiguous_ranges_one_per_anonymous_visitor():
    p = pop(prospects=3000, anonymous=500, mean_devices=2.5)
    expected_start = 0
    for person in range(p.n_people):
        assert p.device_start[person] == expected_start
        expected_start += int(p.device_count[person])
    assert p.n_cookies == expected_start
    assert (p.device_count[3000:] == 1).all() and (p.device_count[:3000] >= 1).all()
    mean = p.device_count[:3000].mean()
    assert abs(mean - 2.5) < 4 * math.sqrt(1.5 / 3000)  # 1 + Poisson(1.5)
    assert (pop(mean_devices=1.0).device_count == 1).all()
    assert (pop(mean_devices=0.2).device_count == 1).all()  # below one device: one each
    assert p.device_start.dtype == np.int64 and p.device_count.dtype == np.int64


def test_an_empty_population_and_one_without_prospects():
    empty = pop(prospects=0, anonymous=0, accounts=1, sales_reps=1)
    assert empty.n_people == 0 and empty.n_cookies == 0 and len(empty.device_start) == 0
    anon = pop(prospects=0, anonymous=3, accounts=1, sales_reps=1, lifecycle_shares={"lead": 1.0})
    assert anon.n_cookies == 3 and anon.device_start.tolist() == [0, 1, 2] and len(anon.lifecycle) == 0
    assert anon.contact_ids == [] and not anon.hot.any()


def test_lifecycle_stages_are_drawn_by_share_from_their_own_stream():
    shares = {"lead": 3.0, "customer": 1.0, "churned": 0.0}  # weights: normalised
    a = pop(seed=1, prospects=4000, lifecycle_shares=shares, lifecycle_rng=np.random.default_rng(9))
    b = pop(seed=2, prospects=4000, lifecycle_shares=shares, lifecycle_rng=np.random.default_rng(9))
    assert a.lifecycle.tolist() == b.lifecycle.tolist()  # the main seed does not enter
    assert len(a.lifecycle) == 4000 and a.lifecycle.dtype == object
    assert set(a.lifecycle) == {"lead", "customer"}
    assert abs((a.lifecycle == "lead").mean() - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 4000)
    plain = pop(seed=1, prospects=4000)
    assert plain.hot.tolist() == a.hot.tolist() and plain.device_count.tolist() == a.device_count.tolist()
    assert plain.contact_ids == a.contact_ids and len(plain.lifecycle) == 0
    own = pop(seed=1, prospects=50, lifecycle_shares={"lead": 1.0})  # no stream of its own: the main one
    assert set(own.lifecycle) == {"lead"} and len(own.lifecycle) == 50


def test_profile_attributes_know_prospects_only():
    p = pop(prospects=3, anonymous=2, lifecycle_shares={"lead": 1.0}, lifecycle_rng=np.random.default_rng(0))
    attrs = p.profile_attributes(np.array([-1, 0, 2, 3, 4]))
    assert attrs["known"].tolist() == ["false", "true", "true", "false", "false"]
    assert attrs["lifecycle_stage"].tolist() == ["", "lead", "lead", "", ""]
    assert attrs["known"].dtype == object and attrs["lifecycle_stage"].dtype == object
    bare = pop(prospects=3, anonymous=2).profile_attributes(np.array([0, 1, 5]))
    assert bare["lifecycle_stage"].tolist() == ["", "", ""] and bare["known"].tolist() == ["true", "true", "false"]


# -- CRM ---------------------------------------------------------------------------------------------
def org_of() -> CrmOrg:
    org = CrmOrg()
    org.users["005A"] = User("005A", "Ann Rep")
    org.accounts["001A"] = Account("001A", "Acme", "005A")
    org.accounts["001B"] = Account("001B", "Orphan", "005GONE")
    org.contacts["003A"] = Contact("003A", "a@acme.example", "001A", "Zoe Buyer")
    org.contacts["003B"] = Contact("003B", "b@x.example", "001B", "No Owner")
    org.contacts["003C"] = Contact("003C", "c@x.example", "001GONE", "No Account")
    return org


def test_owner_of_contact_needs_the_contact_its_account_and_the_owner():
    org = org_of()
    assert org.owner_of_contact("003A") == (org.contacts["003A"], org.accounts["001A"], org.users["005A"])
    for missing in ("003B", "003C", "003Z", "", None):
        assert org.owner_of_contact(missing) is None


def test_the_flow_creates_a_task_and_a_notification_per_known_contact_and_faults_the_rest():
    org = org_of()
    flow = PricingAlertFlow(org)
    assert (flow.api_name, flow.running_user) == ("Pricing_Visit_Alert", "Automated Process")
    assert flow.subject.startswith("Call this prospect now")
    events = [{"ContactId__c": "003A", "Action__c": "Pricing visit", "FiredAt__c": "2026-11-27T08:00:00Z"},
              {"ContactId__c": "003B"}, {}, {"ContactId__c": "003A", "Action__c": "Demo", "FiredAt__c": "t2"},
              {"ContactId__c": "003C"}]
    run = flow.run(events)
    assert (run.lookups, run.faults, run.faulted) == (5, 3, [1, 2, 4])
    assert [t.id for t in run.tasks] == ["00T" + "0" * 15, "00T" + "0" * 14 + "1"]
    for task in run.tasks:
        assert (task.owner_id, task.who_id, task.what_id, task.priority) == ("005A", "003A", "001A", "High")
        assert task.subject == flow.subject and math.isnan(task.created_at)
    n0, n1 = run.notifications
    assert (n0.recipient_id, n0.target_id, n1.target_id) == ("005A", run.tasks[0].id, run.tasks[1].id)
    assert n0.title == "Hot prospect: Zoe Buyer (Acme)"
    assert (n0.body, n1.body) == ("Pricing visit at 2026-11-27T08:00:00Z", "Demo at t2")
    assert math.isnan(n0.created_at)
    assert org.tasks == [] and org.notifications == []  # nothing before the commit
    second = flow.run([{"ContactId__c": "003A"}])
    assert second.tasks[0].id == "00T" + "0" * 14 + "2"  # numbering goes on across batches
    assert second.notifications[0].body == "None at None"
    assert flow.run([]).lookups == 0


def test_commit_stamps_the_records_with_the_commit_time_and_keeps_earlier_ones():
    org = org_of()
    flow = PricingAlertFlow(org)
    first = flow.run([{"ContactId__c": "003A"}])
    flow.commit(first, 12.5)
    second = flow.run([{"ContactId__c": "003A"}, {"ContactId__c": "003A"}])
    flow.commit(second, 20.0)
    assert [t.created_at for t in org.tasks] == [12.5, 20.0, 20.0]
    assert [n.created_at for n in org.notifications] == [12.5, 20.0, 20.0]
    assert [t.id for t in org.tasks] == [t.id for t in first.tasks + second.tasks]
    assert math.isnan(first.tasks[0].created_at)  # the run's own records are left as they were


# -- sign-up forms: other e-mails and typos (build_population's docstring) ---------------------------
def classify(word: str, typed: str) -> tuple[str, int]:
    """The one edit that turns ``word`` into ``typed`` and where: (kind, position), or ("?", -1)."""
    n = len(word)
    if len(typed) == n + 1:
        for j in range(n):
            if typed == word[:j] + word[j] + word[j:]:
                return "doubled", j
    if len(typed) == n - 1:
        for j in range(n):
            if typed == word[:j] + word[j + 1:]:
                return "dropped", j
    if len(typed) == n:
        diff = [j for j in range(n) if word[j] != typed[j]]
        if len(diff) == 1:
            return "replaced", diff[0]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == word[diff[1]] \
                and typed[diff[1]] == word[diff[0]]:
            return "swapped", diff[0]
    return "?", -1


def test_a_typo_is_one_of_four_edits_after_the_first_letter_and_each_occurs():
    from sim.domain.population import mistype

    seen: dict[str, set[int]] = {}
    replacements = set()
    for word in ("Quentin", "Léa", "Sami", "Tess"):
        for seed in range(150):
            typed = mistype(word, np.random.default_rng(seed))
            kind, at = classify(word, typed)
            assert kind != "?" and at >= 1, (word, typed)
            seen.setdefault(kind, set()).add(at)
            if kind == "replaced":
                replacements.add(typed[at])
                assert typed[at] != word[at].lower()
    assert set(seen) == {"doubled", "dropped", "replaced", "swapped"}
    assert 1 in seen["replaced"] and 1 in seen["dropped"] and 1 in seen["doubled"]
    assert replacements <= set("aeioulnrstx") and len(replacements) > 3
    assert mistype("Jo", np.random.default_rng(0)) == "Joo"  # too short to choose: the last letter doubled


def test_other_emails_and_typos_come_from_the_forms_stream_and_typos_only_among_them():
    args: dict[str, Any] = {"prospects": 2000, "anonymous": 5, "accounts": 3, "sales_reps": 2, "hot_share": 0.2,
            "mean_devices": 1.5}
    a = build_population(np.random.default_rng(1), **args, other_email_share=0.3, form_typo_share=0.5,
                         forms_rng=np.random.default_rng(7))
    b = build_population(np.random.default_rng(2), **args, other_email_share=0.3, form_typo_share=0.5,
                         forms_rng=np.random.default_rng(7))
    assert a.other_email.tolist() == b.other_email.tolist() and a.form_typos == b.form_typos
    assert a.other_email.dtype == bool and len(a.other_email) == 2000
    assert abs(a.other_email.mean() - 0.3) < 4 * math.sqrt(0.21 / 2000)
    assert set(a.form_typos) <= set(np.flatnonzero(a.other_email).tolist())
    assert abs(len(a.form_typos) / a.other_email.sum() - 0.5) < 0.1
    for i, typed in a.form_typos.items():
        first = a.org.contacts[a.contact_ids[i]].name.split(" ")[0]
        assert classify(first, typed)[0] != "?"
    no_typos = build_population(np.random.default_rng(1), **args, other_email_share=0.3)
    assert no_typos.form_typos == {} and no_typos.other_email.any()
    plain = build_population(np.random.default_rng(1), **args)
    assert plain.other_email.dtype == bool and len(plain.other_email) == 0 and plain.form_typos == {}
    assert plain.hot.dtype == bool and plain.lifecycle.dtype == object
