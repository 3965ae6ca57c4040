"""Who visits the website: known prospects (CRM contacts with accounts and owners) and anonymous
visitors, each with one or more devices (cookies).

People are numbered ``0 .. n_people-1``: prospects first, then anonymous visitors. Person ``p`` owns
the cookies ``device_start[p] .. device_start[p] + device_count[p] - 1`` (dense integers). Prospect
``i`` has e-mail identifier ``i`` and CRM contact ``contact_ids[i]``. A share of prospects has
buying intent (``hot``): they read the Pricing page far more often.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.domain.crm import Account, Contact, CrmOrg, User

_FIRST = ("Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules",
          "Karim", "Léa", "Marc", "Nora", "Omar", "Paula", "Quentin", "Rita", "Sami", "Tess")
_LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
         "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux")
_CO_A = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Hooli",
         "Vandelay", "Soylent", "Aperture", "Massive", "Nakatomi", "Oscorp", "Wonka")
_CO_B = ("Industries", "Systems", "Logistics", "Energy", "Retail", "Bank", "Health", "Media",
         "Telecom", "Foods", "Motors", "Insurance")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sf_id(prefix: str, n: int) -> str:
    """A Salesforce-style 18-character id with a 3-character key prefix."""
    chars = []
    for _ in range(15):
        n, r = divmod(n, 62)
        chars.append(_B62[r])
    return prefix + "".join(reversed(chars))


@dataclass
class Population:
    org: CrmOrg
    n_prospects: int
    n_anonymous: int
    contact_ids: list[str]
    emails: list[str]
    hot: np.ndarray
    device_start: np.ndarray
    device_count: np.ndarray
    lifecycle: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # per prospect
    # prospects who sign in on the website with an e-mail the CRM does not know (e-mail identifier
    # n_prospects + i), typing their name and company in the sign-up form (empty: none do)
    other_email: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    form_typos: dict[int, str] = field(default_factory=dict)  # prospect -> first name as mistyped in the form

    def profile_attributes(self, person: np.ndarray) -> dict[str, np.ndarray]:
        """Attributes segments can filter on, per person (prospect index; −1 = anonymous):
        ``lifecycle_stage`` (blank when anonymous) and ``known`` ("true"/"false")."""
        person = np.asarray(person, dtype=np.int64)
        known = (person >= 0) & (person < self.n_prospects)
        stage = np.full(len(person), "", dtype=object)
        if len(self.lifecycle):
            stage[known] = self.lifecycle[person[known]]
        return {"lifecycle_stage": stage, "known": np.where(known, "true", "false").astype(object)}

    @property
    def n_people(self) -> int:
        return self.n_prospects + self.n_anonymous

    @property
    def n_cookies(self) -> int:
        return int(self.device_start[-1] + self.device_count[-1]) if self.n_people else 0


def build_population(rng: np.random.Generator, *, prospects: int, anonymous: int, accounts: int,
                     sales_reps: int, hot_share: float, mean_devices: float,
                     lifecycle_shares: dict[str, float] | None = None,
                     lifecycle_rng: np.random.Generator | None = None, other_email_share: float = 0.0,
                     form_typo_share: float = 0.0, forms_rng: np.random.Generator | None = None) -> Population:
    """Draw a population; ``mean_devices`` >= 1 is the mean number of cookies per prospect.
    ``lifecycle_shares`` (stage -> share) draws each prospect's lifecycle stage from
    ``lifecycle_rng`` (its own stream, so adding it changes nothing else). A share
    ``other_email_share`` of prospects signs in with another e-mail than the CRM's, and a share
    ``form_typo_share`` of those mistypes their first name in the form (one edit), both drawn from
    ``forms_rng``."""
    org = CrmOrg()
    for r in range(sales_reps):
        uid = sf_id("005", r + 1)
        org.users[uid] = User(uid, f"{_FIRST[r % len(_FIRST)]} {_LAST[(r * 7) % len(_LAST)]} (AE)")
    reps = list(org.users)
    account_ids = []
    for a in range(accounts):
        aid = sf_id("001", a + 1)
        name = f"{_CO_A[a % len(_CO_A)]} {_CO_B[(a // len(_CO_A)) % len(_CO_B)]}"
        if a >= len(_CO_A) * len(_CO_B):
            name += f" {a // (len(_CO_A) * len(_CO_B)) + 1}"
        org.accounts[aid] = Account(aid, name, reps[int(rng.integers(len(reps)))])
        account_ids.append(aid)
    contact_ids, emails = [], []
    account_of = rng.integers(0, accounts, size=prospects)
    for i in range(prospects):
        cid = sf_id("003", i + 1)
        first, last = _FIRST[i % len(_FIRST)], _LAST[(i // len(_FIRST)) % len(_LAST)]
        account = org.accounts[account_ids[account_of[i]]]
        domain = account.name.split()[0].lower() + ".example"
        email = f"{first.lower()}.{last.lower()}{i}@{domain}"
        org.contacts[cid] = Contact(cid, email, account.id, f"{first} {last}")
        contact_ids.append(cid)
        emails.append(email)
    n = prospects + anonymous
    hot = np.zeros(n, dtype=bool)
    hot[:prospects] = rng.random(prospects) < hot_share
    count = np.ones(n, dtype=np.int64)
    if prospects:
        count[:prospects] = 1 + rng.poisson(max(mean_devices - 1.0, 0.0), size=prospects)
    start = np.zeros(n, dtype=np.int64)
    if n:
        start[1:] = np.cumsum(count)[:-1]
    lifecycle = np.empty(0, dtype=object)
    if lifecycle_shares and prospects:
        stages = list(lifecycle_shares)
        p = np.array([lifecycle_shares[k] for k in stages], dtype=float)
        draw = (lifecycle_rng or rng).choice(len(stages), size=prospects, p=p / p.sum())
        lifecycle = np.array(stages, dtype=object)[draw]
    other = np.zeros(0, dtype=bool)
    typos: dict[int, str] = {}
    if other_email_share > 0 and prospects:
        frng = forms_rng or rng
        other = frng.random(prospects) < other_email_share
        typo = frng.random(prospects) < form_typo_share
        for i in np.flatnonzero(other & typo).tolist():
            typos[i] = mistype(_FIRST[i % len(_FIRST)], frng)
    return Population(org, prospects, anonymous, contact_ids, emails, hot, start, count, lifecycle, other, typos)


def mistype(word: str, rng: np.random.Generator) -> str:
    """``word`` with one typing error after its first letter: a letter replaced, dropped, doubled,
    or two neighbours swapped."""
    if len(word) < 3:
        return word + word[-1]
    kind = int(rng.integers(4))
    i = int(rng.integers(1, len(word) - 1))
    if kind == 0:
        letters = "aeioulnrst"
        c = letters[int(rng.integers(len(letters)))]
        c = c if c != word[i].lower() else "x"
        return word[:i] + c + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    if word[i] == word[i + 1]:  # swapping equal neighbours would change nothing: double instead
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]
