"""The CRM side: users (sales reps), accounts, contacts, and the platform-event-triggered Flow.

:class:`PricingAlertFlow` is the Flow of the flagship scenario. For each ``Pricing_Visit__e`` event
of a batch it runs, as the Automated Process user:

1. *Get Records*: the contact, then its account, then the account owner;
2. *Create Records*: a Task with priority High assigned to the owner ("Call this prospect now");
3. *Send Custom Notification*: a bell notification to the owner, pointing at the Task.

An event whose contact is unknown (or carries none) is a *fault* of that interview: the Flow
creates nothing for it and records the fault, as a real Flow's fault path would.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class User:
    id: str
    name: str


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    owner_id: str


@dataclass(frozen=True)
class Contact:
    id: str
    email: str
    account_id: str
    name: str


@dataclass(frozen=True)
class Task:
    id: str
    owner_id: str
    who_id: str
    what_id: str
    subject: str
    priority: str
    created_at: float


@dataclass(frozen=True)
class Notification:
    recipient_id: str
    title: str
    body: str
    target_id: str
    created_at: float


@dataclass
class CrmOrg:
    """Records of a Sales Cloud org, indexed for the Flow's lookups."""

    users: dict[str, User] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)

    def owner_of_contact(self, contact_id: str | None) -> tuple[Contact, Account, User] | None:
        contact = self.contacts.get(contact_id) if contact_id else None
        if contact is None:
            return None
        account = self.accounts.get(contact.account_id)
        if account is None:
            return None
        owner = self.users.get(account.owner_id)
        return None if owner is None else (contact, account, owner)


@dataclass
class FlowRun:
    """What one batch interview did; committed to the org at the end of its transaction."""

    lookups: int = 0
    faults: int = 0
    faulted: list[int] = field(default_factory=list)  # positions in the batch of faulted events
    tasks: list[Task] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


class PricingAlertFlow:
    """The platform-event-triggered alert of seed 000; see the module docstring."""

    api_name = "Pricing_Visit_Alert"
    subject = "Call this prospect now: strong buying signal (Pricing page)"
    running_user = "Automated Process"

    def __init__(self, org: CrmOrg) -> None:
        self.org = org
        self._next_task = 0

    def run(self, events: list[dict]) -> FlowRun:
        """Interview one batch: the records it would create (not yet committed)."""
        result = FlowRun()
        for position, event in enumerate(events):
            result.lookups += 1
            found = self.org.owner_of_contact(event.get("ContactId__c"))
            if found is None:
                result.faults += 1
                result.faulted.append(position)
                continue
            contact, account, owner = found
            task = Task(id=f"00T{self._next_task:015d}", owner_id=owner.id, who_id=contact.id,
                        what_id=account.id, subject=self.subject, priority="High", created_at=float("nan"))
            self._next_task += 1
            result.tasks.append(task)
            result.notifications.append(Notification(
                recipient_id=owner.id,
                title=f"Hot prospect: {contact.name} ({account.name})",
                body=f"{event.get('Action__c')} at {event.get('FiredAt__c')}",
                target_id=task.id,
                created_at=float("nan"),
            ))
        return result

    def commit(self, run: FlowRun, t: float) -> None:
        """The transaction commits at ``t`` (seconds): the records exist from then on."""
        self.org.tasks.extend(replace(task, created_at=t) for task in run.tasks)
        self.org.notifications.extend(replace(n, created_at=t) for n in run.notifications)
