import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.identity import RulesError, normalize, parse_rules


@pytest.mark.parametrize("spec, raw, expected", [
    ("email", "  Ann.Lee@Example.COM ", "ann.lee@example.com"),
    ("email", "not an email", ""),
    ("phone:FR", "06 12 34 56 78", "+33612345678"),
    ("phone:FR", "+33 (0)6-12-34-56-78", "+33612345678"),
    ("phone:AU", "0412 345 678", "+61412345678"),
    ("phone", "(202) 555-0143", "+12025550143"),
    ("phone", "12", ""),
    ("name", "  O'Brien-Émile ", "o brien emile"),
    ("name", "ZOË  Straße", "zoe strasse"),
    ("digits", "123-45 6", "123456"),
    ("text", "  Pricing   Page ", "pricing page"),
    ("exact", "  ", ""),
], ids=["email", "email-invalid", "phone-fr", "phone-fr-intl", "phone-au", "phone-us", "phone-short",
        "name-apostrophe-accent", "name-diaeresis-eszett", "digits", "text", "exact-blank"])  # ASCII ids (mutmut)
def test_normalisers(spec, raw, expected):
    assert normalize.get(spec)(raw) == expected


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=30), spec=st.sampled_from(["email", "name", "digits", "text", "exact"]))
def test_normalisers_are_idempotent(raw, spec):
    fn = normalize.get(spec)
    assert fn(fn(raw)) == fn(raw)


@settings(max_examples=200, deadline=None)
@given(digits=st.text("0123456789 -()+", max_size=18), region=st.sampled_from(["FR", "US", "AU", "DE"]))
def test_phone_normaliser_is_idempotent(digits, region):
    fn = normalize.get(f"phone:{region}")
    assert fn(fn(digits)) == fn(digits)


def _error(raw) -> str:
    with pytest.raises(RulesError) as err:
        parse_rules(raw, "rules.yaml")
    return str(err.value)


GOOD_RULE = {"name": "r", "criteria": [{"field": "email", "method": "exact"}]}


def test_rule_errors_name_the_key_and_what_is_allowed():
    msg = _error({"match_rules": [GOOD_RULE], "limts": {}})
    assert "rules.yaml: limts: unknown field; allowed here: namespaces, match_rules, blocking" in msg
    msg = _error({"match_rules": [{"name": "r", "criteria": [{"field": "a", "method": "soundex"}]}]})
    assert "match_rules.0.criteria.0.method: 'soundex' is not allowed; allowed: exact, normalized, fuzzy" in msg
    msg = _error({"match_rules": [{"name": "r", "criteria": [{"field": "a", "method": "fuzzy", "threshold": 0.9,
                                                             "algorithm": "soundex"}]}], "blocking": [["a"]]})
    assert "algorithm" in msg and "jaro_winkler" in msg
    msg = _error({"match_rules": [{"name": "r", "criteria": [{"field": "a", "method": "fuzzy"}]}],
                  "blocking": [["a"]]})
    assert "needs a threshold" in msg
    msg = _error({"match_rules": [{"name": "r", "criteria": [{"field": "a", "method": "fuzzy", "threshold": 0.9}]}]})
    assert "give blocking keys" in msg
    msg = _error({"namespaces": {"email": "mail"}})
    assert "namespaces.email: unknown normaliser 'mail'; allowed: email, phone, name" in msg
    msg = _error({"namespaces": {"phone": "phone:XX"}})
    assert "unknown phone region" in msg
    msg = _error({"match_rules": [GOOD_RULE, GOOD_RULE]})
    assert "repeated: r" in msg
    msg = _error({"match_rules": [GOOD_RULE], "limits": {"on_exceed": "split"}})
    assert "limits.on_exceed: 'split' is not allowed; allowed: delete_oldest, refuse" in msg
    msg = _error({"match_rules": [GOOD_RULE], "reconciliation": {"attributes": {"x": "source_priority"}}})
    assert "reconciliation.attributes.x" in msg and "needs sources" in msg
    msg = _error({"match_rules": [GOOD_RULE], "reconciliation": {"attributes": {"x": {"rule": "newest"}}}})
    assert "'newest' is not allowed; allowed: last_updated, most_frequent, source_priority" in msg


def test_shorthand_attribute_rules_and_defaults():
    rules = parse_rules({"namespaces": {"email": "email"},
                         "reconciliation": {"attributes": {"name": "most_frequent"}}})
    assert rules.reconciliation.rule_for("name").rule == "most_frequent"
    assert rules.reconciliation.rule_for("city").rule == "last_updated"
    assert rules.limits.max_identities == 50 and rules.limits.on_exceed == "delete_oldest"


def test_email_needs_an_at_sign_and_no_inner_space():
    from sim.domain.identity.normalize import email

    assert email("  Ann@Example.COM ") == "ann@example.com"
    assert email("ann.example.com") == ""  # no @
    assert email("ann b@example.com") == ""  # a space inside
    assert email("") == ""


def test_names_are_folded_to_a_fixed_point():
    """Some characters need a second fold (U+03D2 GREEK UPSILON WITH HOOK SYMBOL, U+1D2C MODIFIER
    LETTER CAPITAL A, ...): name() folds until nothing changes, so it is idempotent on them."""
    from sim.domain.identity.normalize import _fold, name

    for c in ("\u03d2", "\u03d3", "\u1d2c", "\u1d30", "\u03f9"):
        assert _fold(_fold(c)) != _fold(c)  # the case this rule exists for
        assert name(name(c)) == name(c) == _fold(_fold(c)).strip()
