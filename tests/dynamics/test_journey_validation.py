"""Journey definitions that cannot go live are rejected; each line names the journey and the tile."""

import pytest

from sim.domain.dynamics import JourneyError, parse_journey

from .conftest import journey

SEND = {"id": "survey", "kind": "action", "channel": "survey", "template": "How did we do?"}


def _error(catalog, tiles, **kw) -> str:
    with pytest.raises(JourneyError) as err:
        journey(catalog, tiles, **kw)
    return str(err.value)


def test_a_valid_journey_passes(catalog):
    j = journey(catalog, [SEND, {"id": "w", "kind": "wait", "duration": "1h30m"}])
    assert [t.id for t in j.walk()] == ["survey", "w"] and j.tiles[1].duration == 5400.0


def test_unknown_tile_kind(catalog):
    text = _error(catalog, [SEND, {"id": "pause", "kind": "wiat", "duration": "1d"}])
    assert text == ("journey: journey 'j': tile 'pause': unknown tile kind 'wiat'; kinds: action, create_record, "
                    "wait, wait_for_trigger, attribute_condition")


def test_a_tile_without_kind_or_id(catalog):
    assert "tile 'x': a tile needs a kind" in _error(catalog, [{"id": "x"}])
    assert "tile 'tiles[0]': id: required field is missing" in _error(catalog, [{"kind": "wait", "duration": 1}])


def test_errors_inside_branches_name_the_nested_tile(catalog):
    tiles = [{"id": "cond", "kind": "attribute_condition", "branches": [
        {"name": "unhappy", "condition": "satisfaction <= 2",
         "tiles": [{"id": "discount", "kind": "action", "channel": "fax", "template": "x"}]}]}]
    text = _error(catalog, tiles)
    assert text.startswith("journey: journey 'j': tile 'discount': channel: 'fax' is not allowed; allowed: ")
    assert "'email', 'sms', 'push' or 'survey'" in text


def test_a_branch_on_a_column_the_trigger_table_does_not_have(catalog):
    tiles = [{"id": "cond", "kind": "attribute_condition",
              "branches": [{"name": "unhappy", "condition": "satisfction <= 2"}]}]
    text = _error(catalog, tiles)
    assert text.startswith("journey: journey 'j': tile 'cond': branch 'unhappy': condition 'satisfction <= 2' "
                           "uses 'satisfction', which table incident does not have; it has: incidentid, title")


def test_the_same_branch_on_an_existing_column_passes(catalog):
    journey(catalog, [{"id": "cond", "kind": "attribute_condition",
                       "branches": [{"name": "unhappy", "condition": "satisfaction <= 2"}]}])


def test_an_entry_filter_on_an_unknown_column(catalog):
    with pytest.raises(JourneyError, match="journey 'k': entry: filter \"status == 'Resolved'\" uses 'status', "
                                           "which table incident does not have"):
        parse_journey({"name": "k", "entry": {"trigger": "status", "filter": "status == 'Resolved'"}}, catalog)


def test_a_filter_on_a_custom_trigger_attribute_it_does_not_carry(catalog):
    tiles = [{"id": "w", "kind": "wait_for_trigger", "trigger": "purchase", "filter": "amount > 50",
              "timeout": "1d"}]
    assert "tile 'w': filter 'amount > 50' uses 'amount', which custom trigger 'purchase' does not have; " \
           "it has: total" in _error(catalog, tiles)


def test_a_wait_for_trigger_without_timeout(catalog):
    text = _error(catalog, [{"id": "wait_buy", "kind": "wait_for_trigger", "trigger": "purchase"}])
    assert text == "journey: journey 'j': tile 'wait_buy': a wait_for_trigger needs a timeout (how long to wait " \
                   "before the timed_out branch)"
    assert "tile 'wait_buy': timeout must be greater than 0" in _error(
        catalog, [{"id": "wait_buy", "kind": "wait_for_trigger", "trigger": "purchase", "timeout": 0}])
    journey(catalog, [{"id": "wait_buy", "kind": "wait_for_trigger", "trigger": "purchase", "timeout": 0.001}])


def test_a_draft_trigger_cannot_be_used_until_ready(catalog):
    tiles = [{"id": "w", "kind": "wait_for_trigger", "trigger": "not_published", "timeout": "1d"}]
    assert "tile 'w': trigger 'not_published' is draft; it must be ready_to_use" in _error(catalog, tiles)
    assert "journey 'j': exit: trigger 'not_published' is draft" in _error(
        catalog, [], exit={"trigger": "not_published"})
    catalog.publish("not_published")
    journey(catalog, tiles, exit={"trigger": "not_published"})


def test_a_draft_entry_trigger(catalog):
    with pytest.raises(JourneyError, match="journey 'k': entry: trigger 'not_published' is draft"):
        parse_journey({"name": "k", "entry": {"trigger": "not_published"}}, catalog)


@pytest.mark.parametrize("section", ["goal", "exit"])
def test_goal_and_exit_referencing_an_unknown_trigger(catalog, section):
    text = _error(catalog, [], **{section: {"trigger": "purchased"}})
    assert text.startswith(f"journey: journey 'j': {section}: unknown trigger 'purchased'; triggers: ")


def test_an_unknown_entry_trigger(catalog):
    with pytest.raises(JourneyError, match="journey 'k': entry: unknown trigger 'nope'"):
        parse_journey({"name": "k", "entry": {"trigger": "nope"}}, catalog)


def test_duplicate_tile_ids(catalog):
    assert "tile 'survey': tile id used twice" in _error(catalog, [SEND, SEND])


@pytest.mark.parametrize("template, message", [
    ("Hi {{lead.firstname}}",
     "{{lead.firstname}}: 'lead' is not known here; known: account, contact, incident, status"),
    ("Case {{incident.titel}}", "{{incident.titel}}: incident has no attribute 'titel'"),
    ("Order {{order_placed.name}}", "'order_placed' is not known here"),
    ("Hi {{contact}}", "is not a placeholder"),
])
def test_placeholders_the_tile_cannot_know(catalog, template, message):
    text = _error(catalog, [{"id": "mail", "kind": "action", "channel": "email", "template": template}])
    assert "tile 'mail': " in text and message in text


def test_an_awaited_trigger_is_known_in_its_triggered_branch_only(catalog):
    mail = {"id": "thanks", "kind": "action", "channel": "email", "template": "Order {{salesorder.name}}"}
    tiles = [{"id": "w", "kind": "wait_for_trigger", "trigger": "order_placed", "timeout": "1d", "triggered": [mail]}]
    journey(catalog, tiles)
    tiles = [{"id": "w", "kind": "wait_for_trigger", "trigger": "order_placed", "timeout": "1d"}, mail]
    assert "tile 'thanks': template: {{salesorder.name}}: 'salesorder' is not known here" in _error(catalog, tiles)


def test_an_attribute_condition_on_a_trigger_not_awaited_on_its_path(catalog):
    cond = {"id": "big", "kind": "attribute_condition", "trigger": "purchase",
            "branches": [{"name": "big", "condition": "total > 100"}]}
    assert "tile 'big': branches on trigger 'purchase', which is neither the entry trigger nor awaited" \
        in _error(catalog, [cond])
    journey(catalog, [{"id": "w", "kind": "wait_for_trigger", "trigger": "purchase", "timeout": "1d",
                       "triggered": [cond]}])


@pytest.mark.parametrize("tile, message", [
    ({"table": "task"}, "tile 'rec': unknown table 'task'"),
    ({"table": "incident", "values": {"titel": "x"}}, "tile 'rec': table incident has no column 'titel'"),
    ({"table": "incident", "values": {"satisfaction": 9}}, "tile 'rec': values.satisfaction: incident.satisfaction: "
                                                           "expected a whole number in [1, 5], got 9"),
    ({"table": "incident", "values": {"satisfaction": "{{incident.satisfaction}}"}},
     "values.satisfaction: a template gives text; column 'satisfaction' is a whole number"),
])
def test_create_record_checks(catalog, tile, message):
    assert message in _error(catalog, [{"id": "rec", "kind": "create_record", **tile}])


def test_bad_filters_durations_and_reentry_name_the_place(catalog):
    assert "tile 'c': branches.0.condition: not a valid expression" in _error(
        catalog, [{"id": "c", "kind": "attribute_condition", "branches": [{"name": "b", "condition": "x = 1"}]}])
    assert "tile 'w': duration: " in _error(catalog, [{"id": "w", "kind": "wait", "duration": "soon"}])
    assert "journey 'j': reentry" in _error(catalog, [], reentry="sometimes")


def test_every_problem_is_reported_at_once(catalog):
    text = _error(catalog, [{"id": "w", "kind": "wait_for_trigger", "trigger": "purchase"},
                            {"id": "m", "kind": "action", "channel": "sms", "template": "{{contact.nick}}"}],
                  goal={"trigger": "nope"})
    assert len(text.splitlines()) == 3
