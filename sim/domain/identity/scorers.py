"""Field comparison for match rules: similarity scorers (rapidfuzz) and vectorised criteria.

Every scorer returns a similarity in [0, 1] (1 = identical). ``jaro_winkler``, ``jaro``,
``levenshtein`` (1 − distance / longer length), ``damerau_levenshtein``, ``indel`` (the "ratio" of
fuzzywuzzy), ``token_sort`` and ``token_set`` (word-order-insensitive ratios).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, Indel, Jaro, JaroWinkler, Levenshtein

from sim.domain.identity.rules import Criterion

# a similarity within this fraction below a threshold still meets it (float rounding of scores such as
# 0.85); relative, so that a tiny threshold does not let any pair through
REL_TOL = 1e-9

# algorithm -> (rapidfuzz scorer, the scale its scores come in)
SCORERS: dict[str, tuple[Callable[..., float], float]] = {
    "jaro_winkler": (JaroWinkler.normalized_similarity, 1.0),
    "jaro": (Jaro.normalized_similarity, 1.0),
    "levenshtein": (Levenshtein.normalized_similarity, 1.0),
    "damerau_levenshtein": (DamerauLevenshtein.normalized_similarity, 1.0),
    "indel": (Indel.normalized_similarity, 1.0),
    "token_sort": (fuzz.token_sort_ratio, 100.0),
    "token_set": (fuzz.token_set_ratio, 100.0),
}


def similarity(algorithm: str, a: str, b: str) -> float:
    """Similarity of two strings in [0, 1]."""
    scorer, scale = SCORERS[algorithm]
    return float(scorer(a, b)) / scale


def similarities(algorithm: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise similarities of two equally long string arrays (one C call for the lot)."""
    if len(a) == 0:
        return np.zeros(0)
    scorer, scale = SCORERS[algorithm]
    return process.cpdist(list(a), list(b), scorer=scorer, dtype=np.float32).astype(np.float64) / scale


def criterion_holds(criterion: Criterion, a: str, b: str) -> tuple[bool, float]:
    """One criterion on two (already normalised) values: (holds, similarity)."""
    if not a or not b:
        both = not a and not b
        return (criterion.match_on_blank and both), (1.0 if both else 0.0)
    if criterion.method == "fuzzy":
        assert criterion.algorithm is not None and criterion.threshold is not None  # set by the rule's validation
        score = similarity(criterion.algorithm, a, b)
        return score >= criterion.threshold * (1.0 - REL_TOL), score
    return a == b, 1.0 if a == b else 0.0


def criterion_mask(criterion: Criterion, a: np.ndarray, b: np.ndarray,
                   codes_a: np.ndarray, codes_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A criterion over many pairs: values ``a``/``b`` (normalised strings) and their integer codes
    (−1 = blank, equal codes = equal values). Returns (holds, similarity)."""
    blank = (codes_a < 0) | (codes_b < 0)
    both_blank = (codes_a < 0) & (codes_b < 0)
    if criterion.method == "fuzzy":
        assert criterion.algorithm is not None and criterion.threshold is not None  # set by the rule's validation
        score = np.zeros(len(a))
        ok = ~blank
        score[ok] = similarities(criterion.algorithm, a[ok], b[ok])
        holds = ok & (score >= criterion.threshold * (1.0 - REL_TOL))
    else:
        holds = ~blank & (codes_a == codes_b)
        score = holds.astype(np.float64)
    if criterion.match_on_blank:
        holds |= both_blank
        score[both_blank] = 1.0
    return holds, score
