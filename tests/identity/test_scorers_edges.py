"""Field comparison (sim.domain.identity.scorers): every scorer on a pair whose similarity is known by
hand, in [0, 1]; blanks (never a match unless ``match_on_blank``, then only two blanks); the fuzzy
threshold exactly at and just above the score; and the vectorised :func:`criterion_mask` against the
one-pair :func:`criterion_holds` on every combination of a small grid.

Hand values: Levenshtein("kitten", "sitting") = 3 edits over 7 characters → 1 − 3/7; a swap of two
letters is 2 Levenshtein edits but 1 Damerau-Levenshtein edit; Indel("abc", "abd") = 2 insertions or
deletions over 6 characters → 1 − 2/6; Jaro("martha", "marhta") = (1 + 1 + 5/6) / 3 and
Jaro-Winkler adds 3 × 0.1 × (1 − Jaro) for the prefix "mar"; token ratios ignore word order
(token_sort) and a word set contained in the other (token_set).
"""

import itertools

import numpy as np
import pytest

from sim.domain.identity.rules import Criterion
from sim.domain.identity.scorers import SCORERS, criterion_holds, criterion_mask, similarities, similarity

JARO = (1 + 1 + 5 / 6) / 3
HAND = [
    ("levenshtein", "kitten", "sitting", 1 - 3 / 7),
    ("levenshtein", "ab", "ba", 0.0),
    ("damerau_levenshtein", "ab", "ba", 0.5),
    ("damerau_levenshtein", "abcd", "abcd", 1.0),
    ("indel", "abc", "abd", 1 - 2 / 6),
    ("jaro", "martha", "marhta", JARO),
    ("jaro_winkler", "martha", "marhta", JARO + 3 * 0.1 * (1 - JARO)),
    ("jaro_winkler", "abc", "xyz", 0.0),
    ("token_sort", "ann marie", "marie ann", 1.0),
    ("token_sort", "ab", "cd", 0.0),
    ("token_set", "ann marie smith", "smith ann", 1.0),
    ("token_set", "ab", "cd", 0.0),
]


@pytest.mark.parametrize(("algorithm", "a", "b", "expected"), HAND)
def test_each_scorer_gives_the_hand_similarity_in_zero_one(algorithm, a, b, expected):
    assert similarity(algorithm, a, b) == pytest.approx(expected, abs=1e-9)
    assert type(similarity(algorithm, a, b)) is float


def test_token_ratios_are_scaled_from_percent():
    assert SCORERS["token_sort"][1] == SCORERS["token_set"][1] == 100.0
    # indel ratio of "abc" and "abd": 4 of 6 characters kept; token_sort on one word is that ratio
    assert similarity("token_sort", "abc", "abd") == pytest.approx(4 / 6)
    assert similarity("token_set", "abc", "abd") == pytest.approx(4 / 6)


def test_similarities_are_the_pairwise_similarities_as_float64():
    a = np.array([h[1] for h in HAND if h[0] == "levenshtein"] + ["same"], dtype=object)
    b = np.array([h[2] for h in HAND if h[0] == "levenshtein"] + ["same"], dtype=object)
    got = similarities("levenshtein", a, b)
    assert got.dtype == np.float64 and got.shape == (3,)
    assert got == pytest.approx([1 - 3 / 7, 0.0, 1.0], abs=1e-6)  # computed in float32 by rapidfuzz
    got = similarities("token_set", np.array(["ann marie smith", "ab"]), np.array(["smith ann", "cd"]))
    assert got == pytest.approx([1.0, 0.0], abs=1e-6)
    empty = similarities("jaro", np.array([], dtype=object), np.array([], dtype=object))
    assert empty.shape == (0,) and empty.dtype == np.float64


def crit(method: str, **kw) -> Criterion:
    return Criterion(field="f", method=method, **kw)


def test_blanks_never_match_unless_match_on_blank_and_then_only_two_blanks():
    for c in (crit("exact"), crit("normalized"), crit("fuzzy", threshold=0.1)):
        assert criterion_holds(c, "", "x") == (False, 0.0)
        assert criterion_holds(c, "x", "") == (False, 0.0)
        assert criterion_holds(c, "", "")[0] is False
    for c in (crit("exact", match_on_blank=True), crit("fuzzy", threshold=0.1, match_on_blank=True)):
        assert criterion_holds(c, "", "") == (True, 1.0)
        assert criterion_holds(c, "", "x") == (False, 0.0)
        assert criterion_holds(c, "x", "") == (False, 0.0)


def test_a_blank_never_matches_even_at_the_smallest_threshold():
    c = crit("fuzzy", algorithm="levenshtein", threshold=1e-12)
    assert criterion_holds(c, "", "x") == (False, 0.0) and criterion_holds(c, "x", "") == (False, 0.0)
    holds, score = criterion_mask(c, np.array(["", "x"], dtype=object), np.array(["x", ""], dtype=object),
                                  np.array([-1, 0]), np.array([0, -1]))
    assert holds.tolist() == [False, False] and score.tolist() == [0.0, 0.0]


def test_exact_and_normalised_criteria_need_equal_values():
    for method in ("exact", "normalized"):
        assert criterion_holds(crit(method), "ann", "ann") == (True, 1.0)
        assert criterion_holds(crit(method), "ann", "anne") == (False, 0.0)


def test_the_fuzzy_threshold_holds_at_equality_and_not_just_above():
    score = 1 - 1 / 4  # Levenshtein("abcd", "abce")
    at = crit("fuzzy", algorithm="levenshtein", threshold=0.75)
    above = crit("fuzzy", algorithm="levenshtein", threshold=0.7501)
    assert criterion_holds(at, "abcd", "abce") == (True, pytest.approx(score))
    ok, got = criterion_holds(above, "abcd", "abce")
    assert ok is False and got == pytest.approx(score)
    # the default algorithm of a fuzzy criterion is Jaro-Winkler
    jw = crit("fuzzy", threshold=0.96)
    assert criterion_holds(jw, "martha", "marhta") == (True, pytest.approx(JARO + 0.3 * (1 - JARO)))
    assert criterion_holds(crit("fuzzy", threshold=0.97), "martha", "marhta")[0] is False


def test_the_mask_at_the_threshold_and_just_above():
    a, b = np.array(["abcd", "abcd"], dtype=object), np.array(["abce", "abcd"], dtype=object)
    codes_a, codes_b = np.array([0, 0]), np.array([1, 0])
    holds, score = criterion_mask(crit("fuzzy", algorithm="levenshtein", threshold=0.75), a, b, codes_a, codes_b)
    assert holds.tolist() == [True, True] and score == pytest.approx([0.75, 1.0])
    holds, _ = criterion_mask(crit("fuzzy", algorithm="levenshtein", threshold=0.7501), a, b, codes_a, codes_b)
    assert holds.tolist() == [False, True]


GRID = ["", "martha", "marhta", "abcd", "abce", "zed"]
CRITERIA = [crit("exact"), crit("normalized", match_on_blank=True), crit("fuzzy", threshold=0.75),
            crit("fuzzy", algorithm="levenshtein", threshold=0.75, match_on_blank=True),
            crit("fuzzy", algorithm="token_set", threshold=0.5),
            crit("fuzzy", algorithm="levenshtein", threshold=1e-12)]  # the smallest threshold: still no blanks


@pytest.mark.parametrize("criterion", CRITERIA, ids=lambda c: f"{c.method}-{c.algorithm}-{c.match_on_blank}")
def test_the_mask_agrees_with_one_pair_at_a_time(criterion):
    pairs = list(itertools.product(GRID, repeat=2))
    a = np.array([p[0] for p in pairs], dtype=object)
    b = np.array([p[1] for p in pairs], dtype=object)
    code = {v: k - 1 for k, v in enumerate(GRID)}  # as _codes numbers them: blank -1, then 0, 1, ...
    assert code[""] == -1 and code["martha"] == 0
    holds, score = criterion_mask(criterion, a, b, np.array([code[v] for v in a]), np.array([code[v] for v in b]))
    assert holds.dtype == bool and score.dtype == np.float64
    for k, (x, y) in enumerate(pairs):
        ok, s = criterion_holds(criterion, x, y)
        assert holds[k] == ok, (x, y)
        if ok:
            assert score[k] == pytest.approx(s, abs=1e-6), (x, y)
        elif x and y:  # both present: the similarity is reported even when below the threshold
            assert score[k] == pytest.approx(s, abs=1e-6), (x, y)
        elif bool(x) != bool(y):  # a blank on one side only: nothing alike
            assert score[k] == 0.0, (x, y)
    # two blanks match exactly when the criterion says so
    both_blank = (a == "") & (b == "")
    assert holds[both_blank].all() == criterion.match_on_blank
    assert not holds[(a == "") ^ (b == "")].any()
