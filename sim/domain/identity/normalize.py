"""Normalisers: how a namespace's raw values become comparable identifiers.

Each normaliser maps a raw string to its normal form, or to ``""`` (blank) when nothing usable is
left; all are idempotent (normalising a normal form returns it unchanged), which the tests check.

* ``email``: trim and lower-case (``" Ann@X.com "`` → ``"ann@x.com"``); no ``@`` → blank.
* ``phone`` / ``phone:<REGION>``: E.164 via the ``phonenumbers`` library (``"06 12 34 56 78"`` with
  region FR → ``"+33612345678"``); numbers it cannot parse or that are not possible → blank.
  The region (ISO 3166 alpha-2, default ``US``) applies to numbers written without ``+``.
* ``name``: case, accents and punctuation folded, spaces collapsed (``"O'Brien-Émile"`` →
  ``"o brien emile"``).
* ``digits``: digits only (``"123-45 6"`` → ``"123456"``).
* ``text``: trim, lower-case, spaces collapsed.
* ``exact``: unchanged (blank only if empty or only spaces).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import phonenumbers

_SPACES = re.compile(r"\s+")
_NON_DIGITS = re.compile(r"\D+")
_PUNCT = re.compile(r"[^\w\s]|_")



def email(raw: str) -> str:
    value = raw.strip().lower()
    return value if "@" in value and " " not in value else ""


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name(raw: str) -> str:
    folded = _fold(raw)
    for _ in range(3):  # case folding can expose new accents (e.g. "İ"); fold to a fixed point
        again = _fold(folded)
        if again == folded:
            break
        folded = again
    return _SPACES.sub(" ", _PUNCT.sub(" ", folded)).strip()


def digits(raw: str) -> str:
    return _NON_DIGITS.sub("", raw)


def text(raw: str) -> str:
    return _SPACES.sub(" ", raw.strip().lower())


def exact(raw: str) -> str:
    return raw if raw.strip() else ""


def phone_for(region: str) -> Callable[[str], str]:
    """The E.164 phone normaliser for numbers written without a country code in ``region``."""

    @lru_cache(maxsize=1 << 16)
    def phone(raw: str) -> str:
        raw = raw.strip()
        if not raw:
            return ""
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return ""
        if not phonenumbers.is_possible_number(number):
            return ""
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        again = phonenumbers.format_number(phonenumbers.parse(e164, region), phonenumbers.PhoneNumberFormat.E164)
        return e164 if again == e164 else ""  # e.g. national numbers of only zeros do not survive E.164

    return phone


_SIMPLE = {"email": email, "name": name, "digits": digits, "text": text, "exact": exact}
NORMALIZERS = ("email", "phone", *(k for k in _SIMPLE if k != "email"))


def check_spec(spec: str) -> str:
    """Validate a normaliser spec (``email``, ``phone:FR``, …); the error names what is allowed."""
    kind, _, region = spec.partition(":")
    if kind not in NORMALIZERS:
        raise ValueError(f"unknown normaliser {spec!r}; allowed: {', '.join(NORMALIZERS)} "
                         "(phone may be phone:<REGION>)")
    if region and kind != "phone":
        raise ValueError(f"{spec!r}: only phone takes a region (phone:FR)")
    if region and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{spec!r}: unknown phone region {region!r}; use an ISO 3166 alpha-2 code such as FR, US, AU")
    return spec


def get(spec: str) -> Callable[[str], str]:
    """The normaliser function for a spec string."""
    check_spec(spec)
    kind, _, region = spec.partition(":")
    if kind == "phone":
        return phone_for((region or "US").upper())
    return _SIMPLE[kind]
