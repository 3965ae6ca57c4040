"""The batch run's fuzzy rule (sim.domain.identity.reunify) and the form typos of the population."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA, JaroWinkler

from sim.domain.identity.reunify import FIRST_NAME_THRESHOLD, match_forms
from sim.domain.population import build_population, mistype

CONTACTS = pd.DataFrame({
    "first_name": ["Chloé", "Marc", "Marc", "Léa", "Hugo"],
    "last_name": ["Dubois", "Martin", "Martin", "Petit", "Dubois"],
    "company": ["Acme Industries", "Globex Systems", "Globex Systems", "Acme Industries", "Acme Industries"],
})


def forms(*rows):
    return pd.DataFrame(rows, columns=["first_name", "last_name", "company"])


def test_case_accents_and_spacing_do_not_matter_and_the_rule_needs_last_name_and_company():
    f = forms(("chloe", "DUBOIS", " acme  industries"),   # same person, typed differently
              ("Chloé", "Dubois", "Hooli Bank"),           # another company
              ("Chloé", "Durand", "Acme Industries"),      # another last name
              ("Hugo", "Dubois", "Acme Industries"))       # the other Dubois of Acme
    assert match_forms(f, CONTACTS) == [(0, 0), (3, 4)]


def test_a_form_matching_homonyms_is_linked_to_all_of_them():
    assert match_forms(forms(("Marc", "Martin", "Globex Systems")), CONTACTS) == [(0, 1), (0, 2)]


@pytest.mark.parametrize("precision", ["high", "medium", "low"])
def test_each_precision_matches_exactly_the_first_names_at_or_above_its_threshold(precision):
    threshold = FIRST_NAME_THRESHOLD[precision]
    candidates = ["Marx", "Mrac", "Marcc", "Mar", "Marcel", "Mark", "Maarc", "Mirc", "Mack", "Mar c", "Mike", "Ramc"]
    above = [c for c in candidates if JaroWinkler.similarity("marc", c.lower().replace(" ", "")) >= threshold]
    below = [c for c in candidates if c not in above]
    assert below, "the candidates must straddle the threshold"
    for typed in candidates:
        got = match_forms(forms((typed, "Martin", "Globex Systems")), CONTACTS, precision)
        assert (got == [(0, 1), (0, 2)]) == (typed in above), typed


def test_precisions_are_ordered():
    assert FIRST_NAME_THRESHOLD["high"] > FIRST_NAME_THRESHOLD["medium"] > FIRST_NAME_THRESHOLD["low"]
    typed = forms(("Marx", "Martin", "Globex Systems"))   # Jaro-Winkler 0.883 with "marc"
    assert match_forms(typed, CONTACTS, "low") == [(0, 1), (0, 2)]
    assert match_forms(typed, CONTACTS, "medium") == match_forms(typed, CONTACTS, "high") == []


def test_nothing_to_match():
    assert match_forms(forms(), CONTACTS) == []
    assert match_forms(forms(("Marc", "Martin", "Globex Systems")), CONTACTS.iloc[:0]) == []
    assert match_forms(forms(("Zoé", "Zola", "Nowhere")), CONTACTS) == []


@settings(max_examples=60, deadline=None)
@given(word=st.sampled_from(["Alice", "Bruno", "Chloé", "Farid", "Quentin", "Léa", "Omar", "Tess"]),
       seed=st.integers(0, 10_000))
def test_a_typo_is_one_edit_after_the_first_letter(word, seed):
    typed = mistype(word, np.random.default_rng(seed))
    assert typed != word and typed[0] == word[0]
    assert OSA.distance(word, typed) == 1


def test_the_population_draws_other_emails_and_typos_from_its_own_stream():
    args = {"prospects": 400, "anonymous": 10, "accounts": 20, "sales_reps": 3, "hot_share": 0.1,
            "mean_devices": 1.5}
    plain = build_population(np.random.default_rng(5), **args)
    forms_ = build_population(np.random.default_rng(5), **args, other_email_share=0.5, form_typo_share=0.3,
                              forms_rng=np.random.default_rng(9))
    assert len(plain.other_email) == 0 and plain.form_typos == {}
    assert plain.contact_ids == forms_.contact_ids and np.array_equal(plain.device_count, forms_.device_count)
    share = forms_.other_email.mean()
    assert 0.4 < share < 0.6
    typos = set(forms_.form_typos)
    assert typos <= set(np.flatnonzero(forms_.other_email).tolist())
    assert 0.2 < len(typos) / forms_.other_email.sum() < 0.4


def test_a_tiny_threshold_does_not_let_unrelated_values_match():
    from sim.domain.identity.rules import Criterion
    from sim.domain.identity.scorers import criterion_holds
    tiny = Criterion(field="f", method="fuzzy", algorithm="levenshtein", threshold=1e-12)
    assert criterion_holds(tiny, "abc", "xyz")[0] is False  # similarity 0
    assert criterion_holds(tiny, "abc", "abx")[0] is True
    edge = Criterion(field="f", method="fuzzy", algorithm="levenshtein", threshold=2 / 3)
    assert criterion_holds(edge, "abc", "abx")[0] is True  # exactly at the threshold (1 edit in 3)
