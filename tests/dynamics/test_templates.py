"""Personalisation: placeholders render from the context; a missing value is an error, never ''."""

import pytest

from sim.domain.dynamics.dataverse import Ref
from sim.domain.dynamics.templates import PersonalisationError, TemplateError, compile_template

CONTEXT = {"contact": {"firstname": "Ana", "lastname": None},
           "incident": {"title": "Printer", "satisfaction": 2, "customerid": Ref("contact", "c1")},
           "order": {"total": 120.0, "share": 0.5}}


def test_renders_placeholders_from_their_namespaces():
    tpl = compile_template("Hello {{contact.firstname}}, your case {{ incident.title }} ({{incident.satisfaction}}/5)")
    assert tpl.placeholders == (("contact", "firstname"), ("incident", "title"), ("incident", "satisfaction"))
    assert tpl.render(CONTEXT) == "Hello Ana, your case Printer (2/5)"


def test_values_are_shown_plainly():
    assert compile_template("{{order.total}} {{order.share}} {{incident.customerid}}").render(CONTEXT) == "120 0.5 c1"


def test_text_without_placeholders_is_kept():
    assert compile_template("No personalisation here.").render({}) == "No personalisation here."


@pytest.mark.parametrize("text, why", [
    ("Hi {{lead.firstname}}", "no lead record for this customer"),
    ("Hi {{contact.nickname}}", "contact has no attribute 'nickname'"),
    ("Hi {{contact.lastname}}", "the value is empty"),
])
def test_a_missing_value_is_an_error_never_an_empty_string(text, why):
    with pytest.raises(PersonalisationError) as err:
        compile_template(text).render(CONTEXT)
    assert why in str(err.value)
    assert err.value.placeholder == text[5:-2]


@pytest.mark.parametrize("text", ["Hi {{firstname}}", "Hi {{contact.first name}}", "Hi {{contact.firstname}",
                                  "Hi {{ }}", "Hi }} there"])
def test_malformed_placeholders_are_rejected(text):
    with pytest.raises(TemplateError):
        compile_template(text)
