"""The scenario model of seed 000 (``system: data_cloud``): website traffic, the Ingestion API,
the lakehouse, identity resolution, the Streaming Insight and segments, Data Actions, the event
bus and its subscribers (the CRM Flow, Apex triggers, Pub/Sub clients), and webhooks. Every
parameter has its unit, its default and the default's source (see :mod:`sim.scenario.common`).
"""

from __future__ import annotations

from typing import Annotated, Literal, cast

from pydantic import Field, model_validator

from sim.scenario.common import Duration, Latency, Model, PositiveDuration, ScenarioBase, Share, latency


class Visitors(Model):
    """Website traffic: who visits, how sessions arrive and what they read."""

    rate_per_s: float = Field(2.0, gt=0, le=1e6, description="session arrivals per second, Poisson (assumed)")
    daily_profile: list[Annotated[float, Field(ge=0, le=1000)]] | None = Field(
        None, min_length=24, max_length=24,
        description="24 hourly multipliers of rate_per_s (hour 0 = midnight UTC); none = flat")
    prospects: int = Field(2000, ge=0, le=50_000_000, description="known prospects: CRM contacts (assumed)")
    anonymous: int = Field(50_000, ge=0, le=500_000_000, description="anonymous visitors, one cookie each (assumed)")
    accounts: int = Field(300, ge=1, le=10_000_000, description="CRM accounts the prospects belong to (assumed)")
    sales_reps: int = Field(25, ge=1, le=1_000_000, description="account owners (assumed)")
    prospect_share: Share = Field(0.2, description="share of sessions made by known prospects (assumed)")
    hot_share: Share = Field(0.05, description="share of prospects with buying intent (assumed)")
    mean_devices: float = Field(1.6, ge=1.0, le=100, description="mean cookies per prospect (assumed)")
    lifecycle_shares: dict[str, Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default_factory=lambda: {"new": 0.5, "engaged": 0.35, "customer": 0.15},
        description="prospects' lifecycle_stage attribute, stage -> share (assumed)")
    pages_per_session: float = Field(5.0, ge=1.0, le=1000, description="mean page views per session (assumed)")
    think_time: PositiveDuration = Field(30.0, description="mean gap between two page views (assumed)")
    pricing_prob: Share = Field(0.05, description="P(page = pricing) for an ordinary visitor (assumed)")
    hot_pricing_prob: Share = Field(0.4, description="P(page = pricing) for a prospect with intent (assumed)")
    login_prob: Share = Field(0.3, description="P(a prospect logs in during a session on a device not "
                                               "yet linked) (assumed)")
    login_with_contact_id: Share = Field(0.2, description="share of logins carrying the CRM contact id "
                                                          "instead of the e-mail (assumed)")
    other_email_share: Share = Field(0.0, description="share of prospects who sign in on the website with an "
                                                      "e-mail the CRM does not know (a personal address), typing "
                                                      "their name and company in the form: only the batch "
                                                      "re-unification's fuzzy rule links them to their contact "
                                                      "(assumed; 0: every sign-in uses the CRM e-mail or id)")
    form_typo_share: Share = Field(0.3, description="share of those forms with a typing error in the first name "
                                                    "(assumed)")
    malformed_share: Share = Field(0.001, description="share of events sent malformed (assumed)")
    duplicate_share: Share = Field(0.002, description="share of events the client sends twice (a beacon resent "
                                                      "after a lost answer: at-least-once delivery), deduplicated "
                                                      "on the event id by the lakehouse (assumed)")
    resend_delay: Latency = Field(default_factory=lambda: latency(2.0, 10.0),
                                  description="time from an event to its resent copy (assumed)")
    payload_bytes: int = Field(1200, ge=1, le=100_000_000, description="size of one event payload, bytes (assumed)")
    chunk: PositiveDuration = Field(60.0, description="traffic is drawn ahead in chunks of this many seconds of "
                                                      "session starts; results are statistically the same for any "
                                                      "chunk, but the exact clicks of a seed depend on it")

    @model_validator(mode="after")
    def _shares(self) -> Visitors:
        if not self.lifecycle_shares or sum(self.lifecycle_shares.values()) <= 0:
            raise ValueError(f"lifecycle_shares {self.lifecycle_shares}: give at least one stage with a share > 0, "
                             "e.g. {new: 0.5, engaged: 0.35, customer: 0.15}")
        return self


class Retry(Model):
    """Client retry after an HTTP 429: exponential back-off with jitter."""

    max_attempts: int = Field(5, ge=1, le=100, description="attempts in all, the first included (assumed)")
    initial_backoff: Duration = Field(1.0, description="wait before the first retry (assumed)")
    multiplier: float = Field(2.0, ge=1.0, le=100, description="back-off growth per retry (assumed)")
    max_backoff: Duration = Field(60.0, description="cap of one wait (assumed)")
    jitter: Share = Field(0.5, description="each wait is scaled by U(1 - jitter, 1) (assumed)")


class Ingestion(Model):
    """The streaming Ingestion API."""

    rate_limit_per_s: float = Field(250.0, gt=0, le=1e8, description="requests/s before HTTP 429 (assumed: "
                                                             "the rate is unpublished)")
    burst: int = Field(250, ge=1, le=1_000_000_000, description="token-bucket depth, requests (assumed)")
    on_429: Literal["retry", "drop"] = Field("retry", description="client policy on HTTP 429")
    retry: Retry = Field(default_factory=Retry)
    max_payload_bytes: int = Field(200_000, gt=0, le=1_000_000_000, description="largest request, bytes: a larger "
                                                                                "event is rejected, and the client "
                                                                                "keeps a request within it "
                                                                                "(doc: < 200 KB)")
    records_per_request: int = Field(1, ge=1, le=100_000, description="records the client puts in one request, at "
                                                                      "most (assumed 1: each click sent as it "
                                                                      "happens; server integrations batch)")
    request_linger: Duration = Field(0.0, le=3600.0, description="longest wait of a request's first record for "
                                                                 "more records, when records_per_request > 1 "
                                                                 "(assumed, s)")
    http_latency: Latency = Field(default_factory=lambda: latency(0.1, 0.4),
                                  description="from the browser's send to the API's acceptance: network and "
                                              "TLS (assumed: 100 ms median, 400 ms p95)")
    max_clock_skew: Duration = Field(300.0, description="event time may lead receive time by this "
                                                        "much before rejection (assumed)")
    flush_interval: PositiveDuration = Field(180.0, description="micro-batch period (doc: about every 3 min)")
    flush_max_events: int = Field(100_000, ge=1, le=100_000_000, description="a micro-batch is cut early at this many "
                                                             "events (assumed)")


class Lakehouse(Model):
    """Micro-batch processing into the data stream (data lake object)."""

    processors: int = Field(1, ge=1, le=10_000, description="micro-batches processed at once (assumed)")
    batch_overhead: Duration = Field(5.0, description="fixed time per micro-batch (assumed)")
    per_event: Duration = Field(0.0001, description="time per event (assumed)")
    service_cv: float = Field(0.2, ge=0, le=10, description="coefficient of variation of batch time (assumed)")


class Realtime(Model):
    """Data Cloud's real-time layer (data graphs): events reach identity resolution and the insights
    about ``latency`` after the Ingestion API accepts them, instead of waiting for the micro-batch.
    Off by default (the micro-batch path is the Ingestion API's documented behaviour)."""

    enabled: bool = Field(False, description="send accepted events through the real-time data graph instead of "
                                             "the ~3-minute micro-batch")
    latency: Latency = Field(default_factory=lambda: latency(0.15, 0.45),
                             description="from acceptance to the data graph (doc: 95 % of events from ingestion to "
                                         "real-time activation in about 500 ms; the split assumed)")
    tick: PositiveDuration = Field(0.05, le=60.0, description="events reaching the graph within one tick are handed on "
                                                              "together at its end (a resolution of the twin, s)")


Namespace = Literal["contact_id", "email", "cookie"]


class BatchRuns(Model):
    """The identity ruleset's batch runs (re-unification with every match rule, fuzzy included)."""

    runs_per_day: int = Field(4, ge=0, le=4, description="runs per 24 h, epoch-aligned (every 6 h at 4) "
                                                         "(sec: at most 4 per 24 h); 0: real-time only")
    precision: Literal["high", "medium", "low"] = Field(
        "medium", description="fuzzy first-name precision (doc: high/medium/low; Jaro-Winkler 0.95/0.90/0.85 "
                              "assumed)")
    duration: Latency = Field(default_factory=lambda: latency(1800.0, 5400.0),
                              description="from a run's snapshot to its merges applied (assumed: 30 min median, "
                                          "90 min p95)")


class Identity(Model):
    """Real-time identity resolution (exact and exact-normalised rules only, as the platform's
    real-time path; milliseconds per event) on the engine of :mod:`sim.domain.identity`."""

    batch_overhead: Duration = Field(0.2, description="fixed time per micro-batch (assumed)")
    per_event: Duration = Field(0.0005, description="time per event (doc: 'milliseconds')")
    link_namespaces: list[Literal["contact_id", "email"]] = Field(
        ["email", "contact_id"], description="identifiers a login links to its cookie (the real-time match "
                                             "rules: exact contact id, exact-normalised e-mail) (doc)")
    crm_contacts: bool = Field(True, description="CRM contacts are loaded as records linking contact id "
                                                 "and e-mail (rule crm_contact) (doc)")
    unique_namespaces: list[Namespace] = Field(
        default_factory=list, description="namespaces with at most one value per profile; none by default: Data "
                                          "Cloud's match rules link every source profile they match, two CRM "
                                          "contacts of one person included (doc: match rules); an Adobe-style "
                                          "graph keeps one CRM id: [contact_id]")
    namespace_limits: dict[Namespace, Annotated[int, Field(ge=1, le=100_000)]] = Field(
        default_factory=dict, description="at most n values of a namespace per profile (none by default)")
    max_identities: int | None = Field(
        None, ge=2, le=100_000, description="identities per profile; none by default: Data Cloud documents no cap on "
                                            "the source profiles a unified individual clusters (sec); Adobe's "
                                            "graph keeps 50 (doc: AEP guardrails)")
    on_exceed: Literal["delete_oldest", "refuse"] = Field(
        "delete_oldest", description="over max_identities: delete the oldest identity (doc: Adobe) or refuse")
    batch: BatchRuns = Field(default_factory=BatchRuns)

    def limits(self) -> dict[str, int]:
        """Per-namespace limits: unique namespaces are 1, ``namespace_limits`` add or override."""
        return {**dict.fromkeys(self.unique_namespaces, 1), **cast(dict[str, int], self.namespace_limits)}


class Insights(Model):
    """The Streaming Insight: >= threshold page views of ``page`` within ``window`` per profile."""

    name: str = "pricing_hot"
    page: str = Field("pricing", description="the page whose views count")
    threshold: int = Field(3, ge=1, le=1_000_000)
    window: Duration = Field(600.0, ge=60.0, le=86400.0, description="1 min to 24 h (doc)")
    window_type: Literal["sliding", "tumbling"] = Field(
        "sliding", description="sliding (the default here): any 'last T', the seed's business rule read as "
                               "written ('three visits within 10 minutes'); tumbling: Data Cloud's WINDOW buckets, "
                               "epoch-aligned (sec), the default of `sim insights replay`, which replays the "
                               "platform's SQL")
    cooldown: Duration = Field(600.0, description="sliding: minimum gap between two firings of a profile")
    allowed_lateness: Duration = Field(300.0, description="events older than the watermark minus this are late "
                                                          "and not counted; 5 min here because the twin's clicks "
                                                          "reach the insight through 3-minute micro-batches and "
                                                          "several devices, out of order (assumed); replay reads "
                                                          "a log in arrival order and defaults to 0 (Flink's)")
    per_event: Duration = Field(0.00001, description="evaluation time per event (assumed)")
    filter: str = Field("", description="which clicks count, over fields page and event (page_view | login), "
                                        "e.g. \"page in ('pricing', 'product')\"; empty: views of `page`")
    measure: Literal["count", "distinct:page"] = Field("count", description="count, or distinct pages")

    @model_validator(mode="after")
    def _page_known(self) -> Insights:
        from sim.domain.events import PAGES
        from sim.domain.filters import FilterError, compile_filter

        if self.page not in PAGES:
            raise ValueError(f"page {self.page!r} unknown; allowed: {', '.join(PAGES)}")
        try:
            fields = compile_filter(self.filter).fields
        except FilterError as exc:
            raise ValueError(f"filter: {exc}") from None
        if fields - {"page", "event"}:
            raise ValueError(f"filter uses {', '.join(sorted(fields - {'page', 'event'}))}; click fields: page, event")
        return self


class Segment(Model):
    """A batch segment: >= ``min_events`` views of ``page`` in the last ``lookback`` per profile,
    recomputed by a lakehouse job every ``refresh``."""

    name: str = Field("pricing_3_in_7d", min_length=1)
    page: str = Field("pricing", description="the page whose views count")
    min_events: int = Field(3, ge=1, le=1_000_000)
    lookback: PositiveDuration = Field(7 * 86400.0, description="history the condition reads")
    refresh: PositiveDuration = Field(12 * 3600.0, description="12h or 24h standard, 1h or 4h rapid (doc)")
    first_refresh: Duration = Field(0.0, ge=0.0, description="time of the first scheduled publish after t = 0")
    profile_filter: str = Field("", description="condition on profile attributes (lifecycle_stage, known), "
                                                "e.g. \"lifecycle_stage == 'new'\"")
    publish_time: Latency = Field(default_factory=lambda: latency(900.0, 2700.0),
                                  description="job duration from snapshot to published membership (assumed)")

    @model_validator(mode="after")
    def _schedule(self) -> Segment:
        from sim.domain.events import PAGES
        from sim.domain.filters import compile_filter
        from sim.domain.segments import check_refresh

        check_refresh(self.refresh)
        unknown = compile_filter(self.profile_filter).fields - {"lifecycle_stage", "known"}
        if unknown:
            raise ValueError(f"profile_filter uses unknown attributes {', '.join(sorted(unknown))}; "
                             "allowed: lifecycle_stage, known")
        if self.page not in PAGES:
            raise ValueError(f"page {self.page!r} unknown; allowed: {', '.join(PAGES)}")
        return self


class Segmentation(Model):
    """Batch segments and the org's publish-concurrency rule."""

    segments: list[Segment] = Field(default_factory=list, max_length=100)
    max_concurrent_publishes: int = Field(5, ge=1, le=10_000, description="publishes the org runs at once (assumed)")
    background_publishes: int = Field(0, ge=0, le=100_000,
                                      description="other segments of the org publishing on the same schedule (assumed)")
    retry_after: PositiveDuration = Field(1800.0, description="a skipped publish is retried after this (doc: 30 min)")


class PublishCalls(Model):
    """How the Data Action service groups platform events into publish calls. A call carries at most
    ``max_events`` events and ``max_bytes`` bytes; it is sent when full or ``linger`` after its
    first event. One call is one transaction (with ``publish_behavior: after_commit`` a rollback
    loses every event of the call) and its events are stored on the bus together."""

    max_events: int = Field(1, ge=1, le=200, description="events per publish call (doc: at most 200; default 1: "
                                                         "each action published as it fires, assumed)")
    max_bytes: int = Field(3_000_000, ge=1, le=4_000_000, description="bytes per publish call (doc: 3 MB "
                                                                      "recommended, 4 MB hard limit)")
    linger: Duration = Field(0.0, le=3600.0, description="longest wait of a call's first event for more events "
                                                         "(assumed, s)")


class DataActions(Model):
    """Data Actions: firing -> payload -> targets."""

    triggers: list[Literal["insight", "segment"]] = Field(
        ["insight"], min_length=1, description="what activates: the streaming insight and/or segment entry")
    action: str = Field("Pricing visit", description="the Action__c field")
    require_contact_id: bool = Field(True, description="action rule: only profiles with a CRM contact")
    targets: list[Literal["platform_event", "webhook"]] = Field(["platform_event"], min_length=1)
    extra_payload_bytes: int = Field(0, ge=0, le=100_000_000,
                                     description="bytes of payload fields beyond the five the seed names (custom "
                                                 "fields of the platform event); an event over the bus's "
                                                 "max_event_bytes is refused")
    latency: Latency = Field(default_factory=lambda: latency(1.0, 4.0),
                             description="firing to publish request (assumed; doc: ~500 ms p95 on "
                                         "the real-time path)")
    publish_calls: PublishCalls = Field(default_factory=PublishCalls)


class EventBus(Model):
    """The Salesforce event bus (high-volume platform events)."""

    channel: str = Field("Pricing_Visit__e", description="the platform event's API name")
    max_event_bytes: int = Field(1_000_000, ge=1, le=100_000_000,
                                 description="largest platform event; a larger one fails alone, the rest of "
                                             "its publish call goes on (doc: 1 MB; calls: "
                                             "data_actions.publish_calls)")
    publish_allocation_per_hour: int = Field(250_000, ge=0, le=1_000_000_000, description="publishes per rolling hour "
                                                                        "(doc: Performance/Unlimited)")
    retention: PositiveDuration = Field(72 * 3600.0, description="events older than this are gone (doc: 72 h)")
    publish_latency: Latency = Field(default_factory=lambda: latency(0.05, 0.2),
                                     description="publish request to stored on the bus (assumed)")
    delivery_latency: Latency = Field(default_factory=lambda: latency(0.2, 1.0),
                                      description="stored to available to a subscriber (assumed)")
    other_publishes_per_hour: int = Field(0, ge=0, le=1_000_000_000,
                                          description="publishes of the org's other integrations, which share the "
                                                      "hourly allocation (assumed)")
    on_limit_exceeded: Literal["drop", "retry"] = Field(
        "drop", description="LIMIT_EXCEEDED: drop the event, or retry when the rolling hour frees a slot")
    publish_behavior: Literal["immediately", "after_commit"] = Field(
        "immediately", description="Publish Immediately sends even if the transaction fails (doc default)")
    transaction_failure_rate: Share = Field(0.0, description="share of publishing transactions that roll back "
                                                            "(assumed)")
    delivery_allocation_per_day: int = Field(50_000, ge=0, le=1_000_000_000,
                                             description="deliveries per rolling 24 h to external (Pub/Sub API) "
                                                         "subscribers (doc)")


class Flow(Model):
    """The platform-event-triggered Flow (runs as the Automated Process user)."""

    batch_size: int = Field(2000, ge=1, le=2000, description="events per batch (doc: up to 2,000)")
    concurrency: int = Field(1, ge=1, le=100, description="batches in progress at once (doc: one at a time "
                                                  "per subscriber)")
    batch_overhead: Duration = Field(0.5, description="transaction start and commit (assumed)")
    owner_lookup: Duration = Field(0.02, description="Get Records per event (assumed)")
    task_insert: Duration = Field(0.04, description="Create Task per event (assumed)")
    notification: Duration = Field(0.03, description="Send Custom Notification per event (assumed)")
    service_cv: float = Field(0.3, ge=0, le=10, description="coefficient of variation of batch time (assumed)")


class Crm(Model):
    enabled: bool = Field(True, description="the platform-event-triggered Flow subscribes to the channel")
    flow: Flow = Field(default_factory=Flow)
    notification_latency: Latency = Field(default_factory=lambda: latency(1.0, 3.0),
                                          description="commit to bell shown (assumed)")


class ApexTrigger(Model):
    """An Apex trigger subscribed to the channel (``apex:<name>``)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    batch_size: int = Field(2000, ge=1, le=2000, description="events per run (doc: 1-2,000, default 2,000)")
    batch_overhead: Duration = Field(0.1, description="per run (assumed)")
    per_event: Duration = Field(0.005, description="per event (assumed)")
    service_cv: float = Field(0.3, ge=0, le=10)
    retryable_rate: Share = Field(0.0, description="share of runs throwing RetryableException (assumed)")
    retry_delay: Duration = Field(1.0, description="delay before the first retry; doubles (doc: growing; "
                                                   "values assumed)")
    retry_delay_max: Duration = Field(60.0, description="cap of the retry delay (assumed)")
    max_runs: int = Field(10, ge=1, le=100, description="runs of one batch before the error state (doc: 10)")
    resume_after: Duration | None = Field(None, description="an admin resumes a trigger in error state after "
                                                            "this long (none: it stays stopped)")
    resume_checkpoint: bool = Field(False, description="setResumeCheckpoint after each event: the failed "
                                                       "batch is delivered again on resume (doc)")
    partitions: int = Field(1, ge=1, le=10, description="parallel subscriptions (doc: parallel "
                                                          "subscriptions); order holds per partition")
    partition_key: str = Field("ContactId__c", description="payload field hashed to a partition")


class PubSubClient(Model):
    """An external Pub/Sub API client (``pubsub:<name>``): pulls, counts against delivery allocation."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    fetch_size: int = Field(100, ge=1, le=100, description="events per fetch (doc: at most 100)")
    fetch_latency: Duration = Field(0.2, description="round trip of one fetch (assumed)")
    per_event: Duration = Field(0.002, description="client processing per event (assumed)")


class Subscribers(Model):
    """Subscribers of the channel besides the CRM Flow; each gets every event."""

    apex: list[ApexTrigger] = Field(default_factory=list, max_length=100)
    pubsub: list[PubSubClient] = Field(default_factory=list, max_length=100)


class Endpoint(Model):
    """The receiving HTTP endpoint of a webhook."""

    latency: Latency = Field(default_factory=lambda: latency(0.3, 1.2), description="response time (assumed)")
    error_rate: Share = Field(0.01, description="share of attempts answered 5xx (assumed)")
    rate_limit_per_s: float = Field(1.0, gt=0, le=1e6, description="Slack: ~1 message/s per channel (doc)")
    burst: int = Field(1, ge=1, le=1_000_000, description="requests allowed at once (assumed)")


class ExponentialRetry(Model):
    """Exponential back-off with full jitter: attempt k waits uniform(1 - jitter, 1) x base x factor^k."""

    attempts: int = Field(8, ge=1, le=100)
    base: PositiveDuration = Field(5.0)
    factor: float = Field(2.0, ge=1.0, le=100)
    max_delay: PositiveDuration = Field(36000.0)
    jitter: Share = Field(0.5)


class Webhooks(Model):
    """Webhook Data Action target: signed HTTP POST with retries."""

    url: str = "https://hooks.slack.example/services/T0TWIN/B0TWIN/pricing-alerts"
    signing_key: str | None = Field("whsec_twin_default_key", description="none: nothing is sent (doc)")
    timeout: PositiveDuration = Field(15.0, description="per attempt (doc: Svix 15 s)")
    retry_schedule: list[Duration] = Field(
        [0, 5, 300, 1800, 7200, 18000, 36000, 36000], min_length=1, max_length=100,
        description="delay before each attempt (doc: Svix 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h)")
    endpoint: Endpoint = Field(default_factory=Endpoint)
    retry_policy: Literal["schedule", "exponential"] = Field(
        "schedule", description="schedule: retry_schedule; exponential: base x factor^k with jitter")
    exponential: ExponentialRetry = Field(default_factory=ExponentialRetry)
    disable_after: PositiveDuration = Field(5 * 86400.0, description="an endpoint failing this long is disabled "
                                                                     "(doc: Svix 5 days)")


class DataCloudScenario(ScenarioBase):
    """Seed 000: Data Cloud -> Data Action -> Platform Event -> CRM Flow (and webhooks). Its
    sections sit at the top level of the scenario file."""

    system: Literal["data_cloud"] = "data_cloud"
    visitors: Visitors = Field(default_factory=Visitors)
    ingestion: Ingestion = Field(default_factory=Ingestion)
    lakehouse: Lakehouse = Field(default_factory=Lakehouse)
    realtime: Realtime = Field(default_factory=Realtime)
    identity: Identity = Field(default_factory=Identity)
    insights: Insights = Field(default_factory=Insights)
    data_actions: DataActions = Field(default_factory=DataActions)
    event_bus: EventBus = Field(default_factory=EventBus)
    crm: Crm = Field(default_factory=Crm)
    webhooks: Webhooks = Field(default_factory=Webhooks)
    segmentation: Segmentation = Field(default_factory=Segmentation)
    subscribers: Subscribers = Field(default_factory=Subscribers)
    catch_within: PositiveDuration = Field(48 * 3600.0, description="an intent answered later than this is not "
                                                                    "caught (comparisons)")

    def fault_targets(self) -> set[str]:
        return {"crm", "webhooks", "event_bus"} | {f"apex:{a.name}" for a in self.subscribers.apex} | \
            {f"pubsub:{c.name}" for c in self.subscribers.pubsub}

    @model_validator(mode="after")
    def _data_cloud_rules(self) -> DataCloudScenario:
        for i, f in enumerate(self.faults):
            if f.kind == "allocation_cut" and f.target != "event_bus":
                raise ValueError(f"faults.{i}: allocation_cut applies to event_bus, not {f.target}")
            if f.target == "event_bus" and f.kind != "allocation_cut":
                raise ValueError(f"faults.{i}: the event_bus takes allocation_cut faults only")
        names = [a.name for a in self.subscribers.apex] + [c.name for c in self.subscribers.pubsub]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"subscriber names must differ; repeated: {', '.join(dup)}")
        return self
