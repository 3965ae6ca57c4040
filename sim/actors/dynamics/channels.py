"""The sending channels of journeys: e-mail, SMS, push and survey invitations.

Each channel has a token bucket (``rate_limit_per_s``, ``burst``): a message waits for its token in
order of arrival (a shaper, so no message is refused for the rate), then is sent and reaches the
inbox ``latency`` later. A customer without the channel's contact point (no e-mail address for
e-mail and surveys, no mobile number for SMS) gets nothing (``no_contact_point``). At the send
time, ``error_rate`` of messages are refused by the provider (``provider_error``), ``bounce_rate``
bounce (``bounced``, when the bounce comes back); during an ``outage`` fault of the channel a
message is not sent (``channel_outage``); a ``slowdown`` multiplies the latency.

The times of a message are known when it is queued, so the ledger is written at once (stamps and
terminal states ahead of the clock) and the message is held until its last time passes.
``on_inbox(message id, send effect, inbox time)`` is told of every message that will reach an
inbox (the customers' responses start from there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sim.actors.base import Actor, RunContext, TimedHold
from sim.core.dists import lognormal
from sim.core.token_bucket import TokenBucket
from sim.domain.dynamics import Audience, Send
from sim.scenario.dynamics import CHANNELS, Channels

ADDRESS = {"email": "emailaddress1", "survey": "emailaddress1", "sms": "mobilephone", "push": None}


class ChannelService(Actor):
    name = "channels"

    def __init__(self, ctx: RunContext, settings: Channels, profile: Callable[[Audience], Mapping[str, Any] | None],
                 on_inbox: Callable[[int, Send, float], None] | None = None) -> None:
        super().__init__(ctx)
        self.p = settings
        self.profile = profile
        self.on_inbox = on_inbox
        self.buckets = {ch: TokenBucket(getattr(settings, ch).rate_limit_per_s, getattr(settings, ch).burst)
                        for ch in CHANNELS}
        self.rng = {ch: ctx.rng(f"channels.{ch}") for ch in CHANNELS}
        self.faults = ctx.faults
        self.hold = TimedHold()
        self.stats = {ch: {"queued": 0, "sent": 0, "inbox": 0, "bounced": 0, "provider_error": 0,
                           "channel_outage": 0, "no_contact_point": 0, "max_wait_s": 0.0} for ch in CHANNELS}

    def _reachable(self, customer: Audience, channel: str) -> bool:
        column = ADDRESS[channel]
        if column is None:
            return True
        record = self.profile(customer)
        return record is not None and record.get(column) is not None

    def send(self, mids: np.ndarray, msgs: list[Send]) -> None:
        """Queue messages ``mids`` (in the order they were sent by the journeys)."""
        sent_ids, sent_t, in_ids, in_t, ends = [], [], [], [], []
        drops: dict[str, tuple[list[int], list[float]]] = {}
        faults = self.faults
        for mid, msg in zip(mids.tolist(), msgs):
            ch, t = msg.channel, msg.t
            st = self.stats[ch]
            st["queued"] += 1
            reason = None
            end = t
            if not self._reachable(msg.customer, ch):
                reason = "no_contact_point"
            else:
                bucket = self.buckets[ch]
                wait = bucket.admit(t)
                s = t
                if wait > 0:
                    s = t + wait
                    bucket.admit(s)
                    st["max_wait_s"] = max(st["max_wait_s"], wait)
                spec = getattr(self.p, ch)
                rng = self.rng[ch]
                u = rng.random()
                delay = float(lognormal(rng, spec.latency.median, spec.latency.sigma)) * faults.slowdown(ch, s)
                end = s
                if faults.down(ch, s):
                    reason = "channel_outage"
                elif u < faults.error_rate(ch, s, spec.error_rate):
                    reason = "provider_error"
                else:
                    st["sent"] += 1
                    sent_ids.append(mid)
                    sent_t.append(s)
                    end = s + delay
                    if rng.random() < spec.bounce_rate:
                        reason = "bounced"
                    else:
                        st["inbox"] += 1
                        in_ids.append(mid)
                        in_t.append(end)
                        if self.on_inbox is not None:
                            self.on_inbox(mid, msg, end)
            if reason is not None:
                st[reason] += 1
                ids, times = drops.setdefault(reason, ([], []))
                ids.append(mid)
                times.append(end)
            ends.append(end)
        ledger = self.ledger
        if sent_ids:
            ledger.stamp("message", "sent", np.array(sent_ids, dtype=np.int64), np.array(sent_t))
        if in_ids:
            inbox_ids, inbox_t = np.array(in_ids, dtype=np.int64), np.array(in_t)
            ledger.stamp("message", "inbox", inbox_ids, inbox_t)
            ledger.deliver("message", inbox_ids, inbox_t)
        for reason, (ids, times) in drops.items():
            ledger.drop("message", np.array(ids, dtype=np.int64), reason, np.array(times))
        self.hold.prune(self.env.now)
        self.hold.add(mids, np.array(ends))

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"message": self.hold.held(horizon)}

    def counts(self) -> dict:
        return {ch: dict(v) for ch, v in self.stats.items()}
