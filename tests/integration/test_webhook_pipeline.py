"""The webhook pipeline end to end, in-process over moto (API.md section 8).

Events table stream -> PublishEventsFunction -> EventBus -> WebhookEventsRule -> WebhookEventsQueue
-> FanOutWebhooksFunction -> WebhookDeliveryQueue -> DeliverWebhookFunction -> a local receiver.
Every stage runs the real handler (``InProcessRunner``), driven by ``local.triggers`` until idle.
Retries wait by message visibility; where a test needs a retry now, it records the visibility the
function asked for and lets the wait pass at once (``Visibility``), so no test waits on a clock.
"""

from __future__ import annotations

import json
import re
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from local.run import GatewayResponses, InProcessRunner
from local.stack import Stack
from local.triggers import Triggers
from tests.conftest import Tenant, shared_session
from tests.support.apigw import Api
from tests.support.receiver import Answer, Received, Receiver

WEBHOOKS = "/partner/v1/webhooks"
CLIENTS = "/partner/v1/clients"
EVENTS = "/partner/v1/events"
PUBLISH, FAN_OUT, DELIVER = "PublishEventsFunction", "FanOutWebhooksFunction", "DeliverWebhookFunction"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SCHEDULE = (3, 5, 7, 11, 13, 17, 19)  # distinct delays, so each retry's own delay is visible
MAX_ATTEMPTS = 1 + len(SCHEDULE)  # = the delivery queue's maxReceiveCount (8)


# -- the pipeline, its receivers and its AWS calls -------------------------------------------------


class Pipeline:
    """The three pipeline functions behind their triggers; records every invocation."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.runner = InProcessRunner(GatewayResponses({}))
        self.invocations: list[tuple[str, dict[str, Any]]] = []
        # One Triggers per function, so a test can run the pipeline up to a stage and stop there.
        self._triggers = {
            name: Triggers(stack, self._invoke, session=shared_session(), functions=[name])
            for name in (PUBLISH, FAN_OUT, DELIVER)
        }

    def _invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        self.invocations.append((logical_id, event))
        return self.runner.call(logical_id, event)

    def pump(self, *functions: str) -> int:
        """Run the given stages (default: all) until none has anything left; records processed."""
        chosen = [self._triggers[f] for f in functions or (PUBLISH, FAN_OUT, DELIVER)]
        total = 0
        for _ in range(20):
            done = sum(t.pump(max_rounds=50) for t in chosen)
            total += done
            if done == 0:
                return total
        raise AssertionError("the pipeline did not become idle")

    def bus_event_ids(self) -> list[str]:
        """The event id of every bus event that reached the fan-out function, in order."""
        return [
            json.loads(record["body"])["detail"]["eventId"]
            for name, event in self.invocations
            if name == FAN_OUT
            for record in event["Records"]
        ]


@pytest.fixture
def pipeline(stack: Stack) -> Pipeline:
    return Pipeline(stack)


@pytest.fixture
def hooks() -> Iterator[Callable[[Receiver], Receiver]]:
    """Start receivers for a test; all are stopped at teardown."""
    started: list[Receiver] = []

    def start(receiver: Receiver) -> Receiver:
        started.append(receiver.start())
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@dataclass
class Visibility:
    """Every ChangeMessageVisibility the functions make (their SQS client's own calls).

    With ``fast_forward`` the message is made visible at once instead: the wait has passed."""

    fast_forward: bool = True
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(dict(params))
        if self.fast_forward:
            params["VisibilityTimeout"] = 0

    @property
    def timeouts(self) -> list[int]:
        return [c["VisibilityTimeout"] for c in self.calls]


@pytest.fixture
def visibility(stack: Stack) -> Visibility:
    from partner_api.store import aws

    recorder = Visibility()
    aws.client("sqs").meta.events.register("before-parameter-build.sqs.ChangeMessageVisibility", recorder)
    return recorder


@pytest.fixture
def retry_schedule(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Callable[[tuple[int, ...]], None]:
    """Set the functions' WEBHOOK_RETRY_SCHEDULE (the stack's own is all zeros)."""
    from partner_api.config import settings

    def use(delays: tuple[int, ...]) -> None:
        monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", ",".join(str(d) for d in delays))
        settings.cache_clear()

    return use


def sqs() -> Any:
    return shared_session().client("sqs")


def queue_messages(stack: Stack, queue: str) -> list[dict[str, Any]]:
    """Every visible message of a queue (read with a separate client, then left to time out)."""
    found: list[dict[str, Any]] = []
    while True:
        page = sqs().receive_message(
            QueueUrl=stack.physical_ids[queue], MaxNumberOfMessages=10, VisibilityTimeout=30
        )
        if not page.get("Messages"):
            return found
        found += page["Messages"]


def queue_depth(stack: Stack, queue: str) -> int:
    attributes = sqs().get_queue_attributes(
        QueueUrl=stack.physical_ids[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def all_event_rows(stack: Stack) -> list[dict[str, Any]]:
    """Every row of the events table, as DynamoDB holds it (not through the code under test)."""
    ddb = shared_session().client("dynamodb")
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"TableName": stack.physical_ids["EventsTable"], "ConsistentRead": True}
    while True:
        page = ddb.scan(**params)
        rows += page["Items"]
        if not page.get("LastEvaluatedKey"):
            return rows
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# -- the API calls --------------------------------------------------------------------------------


def register_webhook(api: Api, tenant: Tenant, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, **({"events": events} if events is not None else {})}
    reply = api.call("POST", WEBHOOKS, token=tenant.token, json_body=body)
    assert reply.status == 201, reply.text
    data: dict[str, Any] = reply.body["data"]
    assert data["secret"].startswith("whsec_"), data
    return data


def register_client(api: Api, tenant: Tenant, email: str, partner_id: str | None = None) -> str:
    body = {"name": email.split("@")[0], "email": email, **({"partnerId": partner_id} if partner_id else {})}
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)
    assert reply.status == 201, reply.text
    return str(reply.body["data"]["clientId"])


def remove_client(api: Api, tenant: Tenant, client_id: str) -> dict[str, Any]:
    reply = api.call("DELETE", f"{CLIENTS}/{client_id}", token=tenant.token)
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Client removed successfully."
    data: dict[str, Any] = reply.body["data"]
    return data


def events_of(api: Api, tenant: Tenant, **query: str) -> list[dict[str, Any]]:
    reply = api.call("GET", EVENTS, token=tenant.token, query={"limit": "100", **query})
    assert reply.status == 200, reply.text
    events: list[dict[str, Any]] = reply.body["data"]["events"]
    return events


def the_event(api: Api, tenant: Tenant, client_id: str, event_type: str) -> dict[str, Any]:
    (event,) = events_of(api, tenant, resourceId=client_id, type=event_type)
    return event


def deliveries(api: Api, tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
    reply = api.call("GET", f"{WEBHOOKS}/{webhook_id}/deliveries", token=tenant.token)
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Deliveries retrieved successfully."
    found: list[dict[str, Any]] = reply.body["data"]["deliveries"]
    return found


def verified(secret: str, request: Received) -> dict[str, Any]:
    """The body, after checking its Standard Webhooks signature with ``secret``."""
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


def ids_of(requests: list[Received]) -> list[str]:
    return [r.headers["webhook-id"] for r in requests]


def assert_attempt_shape(attempt: dict[str, Any]) -> None:
    assert set(attempt) == {"attemptedAt", "statusCode", "durationMs", "error"}, attempt
    assert TIMESTAMP_RE.match(attempt["attemptedAt"]), attempt
    assert isinstance(attempt["durationMs"], int) and attempt["durationMs"] >= 0, attempt


# -- delivery -------------------------------------------------------------------------------------


def test_a_removed_client_reaches_the_webhook_signed_with_its_secret(
    api: Api, tenant: Tenant, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given a webhook (default events: client.removed) and a client
    hook = hooks(Receiver())
    webhook = register_webhook(api, tenant, hook.url())
    assert webhook["events"] == ["client.removed"]
    client_id = register_client(api, tenant, "ada@example.com")

    # When the client is removed and the pipeline runs
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then exactly one POST arrived: the removal, signed, in the Standard Webhooks shape
    event = the_event(api, tenant, client_id, "client.removed")
    (request,) = hook.received
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == event["eventId"]
    assert request.headers["webhook-timestamp"].isdigit()
    assert request.headers["webhook-signature"].startswith("v1,")
    body = verified(webhook["secret"], request)
    assert body == {"type": "client.removed", "timestamp": event["occurredAt"], "data": event}
    assert body["data"]["resource"] == {"type": "client", "id": client_id}
    assert body["data"]["changes"] == {"status": {"from": "active", "to": "deleted"}}
    # ... and only that secret verifies it
    other_secret = register_webhook(api, tenant, hook.url("/other"))["secret"]
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(request.body, request.headers)
    # ... and the delivery is recorded as one successful attempt
    (delivery,) = deliveries(api, tenant, webhook["webhookId"])
    assert delivery["eventId"] == event["eventId"]
    assert (delivery["eventType"], delivery["status"]) == ("client.removed", "succeeded")
    (attempt,) = delivery["attempts"]
    assert_attempt_shape(attempt)
    assert (attempt["statusCode"], attempt["error"]) == (200, None)


def test_a_webhook_hears_only_the_event_types_it_subscribed_to(
    api: Api, tenant: Tenant, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given one webhook for registrations and one for removals (the default)
    registrations = hooks(Receiver())
    removals = hooks(Receiver())
    on_registered = register_webhook(api, tenant, registrations.url(), events=["client.registered"])
    on_removed = register_webhook(api, tenant, removals.url())

    # When two clients are registered, one is updated and one is removed
    first = register_client(api, tenant, "first@example.com")
    second = register_client(api, tenant, "second@example.com")
    reply = api.call("PATCH", f"{CLIENTS}/{first}", token=tenant.token, json_body={"name": "First"})
    assert reply.status == 200, reply.text
    remove_client(api, tenant, second)
    pipeline.pump()

    # Then the registrations webhook got both registrations and nothing else
    got = [verified(on_registered["secret"], r) for r in registrations.received]
    assert sorted((b["type"], b["data"]["resource"]["id"]) for b in got) == sorted(
        [("client.registered", first), ("client.registered", second)]
    )
    assert sorted(ids_of(registrations.received)) == sorted(
        the_event(api, tenant, c, "client.registered")["eventId"] for c in (first, second)
    )
    # ... and the removals webhook only the removal
    (removal,) = [verified(on_removed["secret"], r) for r in removals.received]
    assert (removal["type"], removal["data"]["resource"]["id"]) == ("client.removed", second)
    assert [d["eventType"] for d in deliveries(api, tenant, on_removed["webhookId"])] == ["client.removed"]


# -- retries --------------------------------------------------------------------------------------


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt_with_the_same_id(
    api: Api,
    tenant: Tenant,
    pipeline: Pipeline,
    hooks: Callable[[Receiver], Receiver],
    visibility: Visibility,
    retry_schedule: Callable[[tuple[int, ...]], None],
) -> None:
    # Given a receiver that answers 500 twice, then 200
    retry_schedule(SCHEDULE)
    hook = hooks(Receiver.failing(2))
    webhook = register_webhook(api, tenant, hook.url())
    client_id = register_client(api, tenant, "retry@example.com")

    # When a client is removed and the pipeline runs (each retry's wait passing at once)
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then three POSTs of the same message arrived, each with a valid signature
    event_id = the_event(api, tenant, client_id, "client.removed")["eventId"]
    requests = hook.received
    assert ids_of(requests) == [event_id] * 3
    assert [verified(webhook["secret"], r)["data"]["eventId"] for r in requests] == [event_id] * 3
    assert len({r.body for r in requests}) == 1, "a retry sends the same body"
    # ... each failure asked SQS to bring the message back after the schedule's next delay
    assert visibility.timeouts == list(SCHEDULE[:2])
    assert {c["QueueUrl"] for c in visibility.calls} == {pipeline.stack.physical_ids["WebhookDeliveryQueue"]}
    # ... and the deliveries route shows the three attempts and success
    (delivery,) = deliveries(api, tenant, webhook["webhookId"])
    assert (delivery["eventId"], delivery["status"]) == (event_id, "succeeded")
    attempts = delivery["attempts"]
    for attempt in attempts:
        assert_attempt_shape(attempt)
    assert [a["statusCode"] for a in attempts] == [500, 500, 200]
    assert [a["error"] for a in attempts] == ["HTTP 500", "HTTP 500", None]
    assert [a["attemptedAt"] for a in attempts] == sorted(a["attemptedAt"] for a in attempts)
    assert queue_depth(pipeline.stack, "WebhookDeliveryQueue") == 0
    assert queue_depth(pipeline.stack, "WebhookDeliveryDeadLetterQueue") == 0


def test_an_always_failing_receiver_is_failed_after_eight_attempts_and_dead_lettered(
    api: Api,
    tenant: Tenant,
    pipeline: Pipeline,
    hooks: Callable[[Receiver], Receiver],
    visibility: Visibility,
    retry_schedule: Callable[[tuple[int, ...]], None],
) -> None:
    # Given a receiver that always answers 500
    retry_schedule(SCHEDULE)
    hook = hooks(Receiver.always(500))
    webhook = register_webhook(api, tenant, hook.url())
    client_id = register_client(api, tenant, "doomed@example.com")

    # When a client is removed and the pipeline runs through every retry
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then 1 + 7 attempts were made, with the schedule's delays between them
    event_id = the_event(api, tenant, client_id, "client.removed")["eventId"]
    assert ids_of(hook.received) == [event_id] * MAX_ATTEMPTS
    # After the last attempt the message comes straight back, for SQS to dead-letter it.
    assert visibility.timeouts == [*SCHEDULE, 0]
    # ... the delivery shows as failed with all eight attempts
    (delivery,) = deliveries(api, tenant, webhook["webhookId"])
    assert (delivery["eventId"], delivery["status"]) == (event_id, "failed")
    assert len(delivery["attempts"]) == MAX_ATTEMPTS
    for attempt in delivery["attempts"]:
        assert_attempt_shape(attempt)
        assert (attempt["statusCode"], attempt["error"]) == (500, "HTTP 500")
    # ... and the message sits in the dead-letter queue, no longer in the delivery queue
    assert queue_depth(pipeline.stack, "WebhookDeliveryQueue") == 0
    (dead,) = queue_messages(pipeline.stack, "WebhookDeliveryDeadLetterQueue")
    assert json.loads(dead["Body"]) == {
        "tenantId": tenant.partner_id,
        "webhookId": webhook["webhookId"],
        "eventId": event_id,
        "round": 0,
    }


def test_a_failing_endpoint_neither_delays_nor_repeats_another_webhooks_delivery(
    api: Api,
    tenant: Tenant,
    pipeline: Pipeline,
    hooks: Callable[[Receiver], Receiver],
    visibility: Visibility,
    retry_schedule: Callable[[tuple[int, ...]], None],
) -> None:
    # Given two webhooks on the same event, one always answering 500; retries wait 300 s
    retry_schedule((300,) * len(SCHEDULE))
    visibility.fast_forward = False
    bad = hooks(Receiver.always(500))
    good = hooks(Receiver())
    bad_webhook = register_webhook(api, tenant, bad.url())
    good_webhook = register_webhook(api, tenant, good.url())
    client_id = register_client(api, tenant, "shared@example.com")

    # When the client is removed and the pipeline runs until only the failed retry is waiting
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then the good webhook has its delivery while the bad one waits for its first retry
    event_id = the_event(api, tenant, client_id, "client.removed")["eventId"]
    assert ids_of(good.received) == [event_id]
    assert ids_of(bad.received) == [event_id]
    assert visibility.timeouts == [300]
    (pending,) = deliveries(api, tenant, bad_webhook["webhookId"])
    assert (pending["status"], len(pending["attempts"])) == ("pending", 1)

    # When the bad webhook's retries all come due
    visibility.fast_forward = True
    sqs().change_message_visibility(
        QueueUrl=pipeline.stack.physical_ids["WebhookDeliveryQueue"],
        ReceiptHandle=visibility.calls[0]["ReceiptHandle"],
        VisibilityTimeout=0,
    )
    pipeline.pump()

    # Then the bad one exhausted its retries, and the good one was still delivered exactly once
    assert ids_of(bad.received) == [event_id] * MAX_ATTEMPTS
    assert ids_of(good.received) == [event_id]
    (failed,) = deliveries(api, tenant, bad_webhook["webhookId"])
    assert (failed["status"], len(failed["attempts"])) == ("failed", MAX_ATTEMPTS)
    (succeeded,) = deliveries(api, tenant, good_webhook["webhookId"])
    assert succeeded["status"] == "succeeded"
    assert [a["statusCode"] for a in succeeded["attempts"]] == [200]


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt_and_retried(
    api: Api,
    tenant: Tenant,
    pipeline: Pipeline,
    hooks: Callable[[Receiver], Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from partner_api.logic import pipeline as delivery

    # Given a receiver that answers its first request only after the (shortened) timeout
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 0.5)
    hook = hooks(Receiver([Answer(200, sleep=2.0)], then=200))
    webhook = register_webhook(api, tenant, hook.url())
    client_id = register_client(api, tenant, "slow@example.com")

    # When a client is removed and the pipeline runs
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then the late 200 did not count: the attempt failed without a status, and a retry succeeded
    event_id = the_event(api, tenant, client_id, "client.removed")["eventId"]
    assert ids_of(hook.received) == [event_id] * 2
    (delivery_record,) = deliveries(api, tenant, webhook["webhookId"])
    assert delivery_record["status"] == "succeeded"
    timed_out, succeeded = delivery_record["attempts"]
    assert timed_out["statusCode"] is None, timed_out
    assert "timed out" in timed_out["error"].lower(), timed_out
    assert (succeeded["statusCode"], succeeded["error"]) == (200, None)


def test_a_dead_lettered_delivery_can_be_redelivered_with_the_same_id(
    api: Api, tenant: Tenant, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given a delivery that failed all eight attempts (the receiver recovers afterwards)
    hook = hooks(Receiver([500] * MAX_ATTEMPTS, then=200))
    webhook = register_webhook(api, tenant, hook.url())
    client_id = register_client(api, tenant, "again@example.com")
    remove_client(api, tenant, client_id)
    pipeline.pump()
    event_id = the_event(api, tenant, client_id, "client.removed")["eventId"]
    (failed,) = deliveries(api, tenant, webhook["webhookId"])
    assert (failed["status"], len(failed["attempts"])) == ("failed", MAX_ATTEMPTS)

    # When the event is redelivered
    reply = api.call("POST", f"{EVENTS}/{event_id}/redeliver", token=tenant.token)
    assert reply.status == 202, reply.text
    assert reply.body["data"] == {"eventId": event_id, "webhookIds": [webhook["webhookId"]]}
    pipeline.pump()

    # Then one more POST, with the same webhook-id and a valid signature, and the delivery succeeded
    assert ids_of(hook.received) == [event_id] * (MAX_ATTEMPTS + 1)
    assert verified(webhook["secret"], hook.received[-1])["data"]["eventId"] == event_id
    (redelivered,) = deliveries(api, tenant, webhook["webhookId"])
    assert redelivered["status"] == "succeeded"
    assert [a["statusCode"] for a in redelivered["attempts"]] == [500] * MAX_ATTEMPTS + [200]
    assert queue_depth(pipeline.stack, "WebhookDeliveryQueue") == 0


# -- publishing -----------------------------------------------------------------------------------


class EventsFailingOnce:
    """The events client, except that PutEvents refuses one chosen entry the first time, as
    EventBridge refuses entries: one result per entry, the others put on the bus."""

    def __init__(self, real: Any, event_id: str) -> None:
        self.real = real
        self.event_id = event_id
        self.calls: list[list[str]] = []  # the event ids of each PutEvents call, in order
        self.refused = False

    @property
    def attempts(self) -> list[str]:
        return [event_id for call in self.calls for event_id in call]

    def put_events(self, **kwargs: Any) -> Any:
        ids = [json.loads(entry["Detail"])["eventId"] for entry in kwargs["Entries"]]
        self.calls.append(ids)
        if self.event_id not in ids or self.refused:
            return self.real.put_events(**kwargs)
        self.refused = True
        refused_at = ids.index(self.event_id)
        taken = [e for i, e in enumerate(kwargs["Entries"]) if i != refused_at]
        results = list(self.real.put_events(Entries=taken)["Entries"]) if taken else []
        results.insert(refused_at, {"ErrorCode": "InternalFailure", "ErrorMessage": "injected by the test"})
        return {"FailedEntryCount": 1, "Entries": results}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_put_events_failure_retries_the_failed_record_and_publishes_each_event_once(
    api: Api, tenant: Tenant, stack: Stack, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    from partner_api.store import aws

    # Given several events waiting in the stream, and PutEvents refusing the second registration once
    hook = hooks(Receiver())
    webhook = register_webhook(api, tenant, hook.url(), events=["client.registered"])
    clients = [register_client(api, tenant, f"batch{n}@example.com") for n in range(4)]
    registered = [the_event(api, tenant, c, "client.registered")["eventId"] for c in clients]
    chosen = registered[1]
    events_client = EventsFailingOnce(aws.client("events"), chosen)
    aws.use_client("events", events_client)

    # When the pipeline runs
    pipeline.pump()

    # Then the refused event was published again, right away and on its own, and every other
    # event once
    every_event = [row["eventId"]["S"] for row in all_event_rows(stack)]
    assert len(every_event) >= len(clients) + 2  # the tenant's own, the webhook's, the clients'
    assert events_client.refused
    assert Counter(events_client.attempts) == Counter({**dict.fromkeys(every_event, 1), chosen: 2})
    refused_call = next(i for i, call in enumerate(events_client.calls) if chosen in call)
    assert events_client.calls[refused_call + 1] == [chosen], events_client.calls
    # ... every event reached the bus queue exactly once
    assert Counter(pipeline.bus_event_ids()) == Counter(dict.fromkeys(every_event, 1))
    # ... and the webhook got each registration exactly once
    assert sorted(ids_of(hook.received)) == sorted(registered)
    for request in hook.received:
        verified(webhook["secret"], request)
    assert queue_depth(stack, "PublisherFailureQueue") == 0


class EventsPublishingTwice:
    """The events client, except that every PutEvents goes to the bus twice (at-least-once)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def put_events(self, **kwargs: Any) -> Any:
        self.real.put_events(**kwargs)
        return self.real.put_events(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_an_event_on_the_bus_twice_is_delivered_once(
    api: Api, tenant: Tenant, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    from partner_api.store import aws

    # Given a bus that carries every event twice
    hook = hooks(Receiver())
    webhook = register_webhook(api, tenant, hook.url())
    client_id = register_client(api, tenant, "dup@example.com")
    aws.use_client("events", EventsPublishingTwice(aws.client("events")))

    # When a client is removed and the pipeline runs
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then fan-out saw the removal twice, but queued one delivery, and the webhook got it once
    event_id = the_event(api, tenant, client_id, "client.removed")["eventId"]
    assert pipeline.bus_event_ids().count(event_id) == 2
    assert [name for name, _ in pipeline.invocations].count(DELIVER) == 1
    assert ids_of(hook.received) == [event_id]
    (delivery,) = deliveries(api, tenant, webhook["webhookId"])
    assert (delivery["status"], len(delivery["attempts"])) == ("succeeded", 1)


def test_a_refused_write_publishes_nothing_and_does_not_stall_the_pipeline(
    api: Api, tenant: Tenant, stack: Stack, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given a webhook for registrations and removals, and a client whose registration went out
    hook = hooks(Receiver())
    webhook = register_webhook(api, tenant, hook.url(), events=["client.registered", "client.removed"])
    client_id = register_client(api, tenant, "taken@example.com")
    pipeline.pump()
    registered = the_event(api, tenant, client_id, "client.registered")["eventId"]
    assert ids_of(hook.received) == [registered]

    # When a duplicate registration is refused (its transaction, event row included, fails),
    # and then the client is removed
    reply = api.call(
        "POST", CLIENTS, token=tenant.token, json_body={"name": "Dup", "email": "taken@example.com"}
    )
    assert reply.status == 409, reply.text
    assert reply.body["code"] == "CLIENT_ALREADY_EXISTS"
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then no event of the refused write exists or was published, and the removal was delivered
    removed = the_event(api, tenant, client_id, "client.removed")["eventId"]
    stored_ids = {row["eventId"]["S"] for row in all_event_rows(stack)}
    phantoms = [e for e in pipeline.bus_event_ids() if e not in stored_ids]
    assert phantoms == [], f"published events that were never stored (a refused write's): {phantoms}"
    bodies = [verified(webhook["secret"], r) for r in hook.received]
    assert [(b["type"], b["data"]["resource"]["id"]) for b in bodies] == [
        ("client.registered", client_id),
        ("client.removed", client_id),
    ]
    assert ids_of(hook.received) == [registered, removed]


# -- what is (not) delivered ------------------------------------------------------------------------


def test_repeating_a_delete_sends_nothing_new(
    api: Api, tenant: Tenant, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given a removed client whose removal was delivered
    hook = hooks(Receiver())
    webhook = register_webhook(api, tenant, hook.url())
    client_id = register_client(api, tenant, "twice@example.com")
    first = remove_client(api, tenant, client_id)
    pipeline.pump()
    assert len(hook.received) == 1

    # When the DELETE is repeated and the pipeline runs again
    again = remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then the same answer, no new event, and no new delivery
    assert again == first
    assert [e["type"] for e in events_of(api, tenant, resourceId=client_id)] == [
        "client.removed",
        "client.registered",
    ]
    event_id = the_event(api, tenant, client_id, "client.removed")["eventId"]
    assert ids_of(hook.received) == [event_id]
    assert [d["eventId"] for d in deliveries(api, tenant, webhook["webhookId"])] == [event_id]


def test_a_deleted_webhook_gets_no_more_deliveries(
    api: Api, tenant: Tenant, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given a webhook that got one removal
    hook = hooks(Receiver())
    webhook = register_webhook(api, tenant, hook.url())
    first = register_client(api, tenant, "before@example.com")
    remove_client(api, tenant, first)
    pipeline.pump()
    assert len(hook.received) == 1

    # When the webhook is deleted and another client is removed
    reply = api.call("DELETE", f"{WEBHOOKS}/{webhook['webhookId']}", token=tenant.token)
    assert reply.status == 200, reply.text
    second = register_client(api, tenant, "after@example.com")
    remove_client(api, tenant, second)
    pipeline.pump()

    # Then nothing more arrived, and the webhook is gone
    assert ids_of(hook.received) == [the_event(api, tenant, first, "client.removed")["eventId"]]
    reply = api.call("GET", f"{WEBHOOKS}/{webhook['webhookId']}/deliveries", token=tenant.token)
    assert reply.status == 404, reply.text
    assert reply.body["code"] == "WEBHOOK_NOT_FOUND"


def test_a_delivery_queued_before_the_webhook_was_deleted_is_dropped(
    api: Api, tenant: Tenant, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given a removal fanned out to a webhook, its delivery message waiting in the queue
    hook = hooks(Receiver())
    webhook = register_webhook(api, tenant, hook.url())
    client_id = register_client(api, tenant, "queued@example.com")
    remove_client(api, tenant, client_id)
    pipeline.pump(PUBLISH, FAN_OUT)
    assert queue_depth(pipeline.stack, "WebhookDeliveryQueue") == 1

    # When the webhook is deleted before the delivery runs
    reply = api.call("DELETE", f"{WEBHOOKS}/{webhook['webhookId']}", token=tenant.token)
    assert reply.status == 200, reply.text
    pipeline.pump()

    # Then the message was consumed without a POST
    assert [name for name, _ in pipeline.invocations].count(DELIVER) == 1
    assert hook.received == []
    assert queue_depth(pipeline.stack, "WebhookDeliveryQueue") == 0
    assert queue_depth(pipeline.stack, "WebhookDeliveryDeadLetterQueue") == 0


def test_a_root_partners_webhook_hears_its_own_tenant_and_nothing_else(
    api: Api,
    tenant: Tenant,
    other_tenant: Tenant,
    pipeline: Pipeline,
    hooks: Callable[[Receiver], Receiver],
) -> None:
    # Given a webhook of each of two root partners (sub-partners have no route yet: POST
    # /partner/v1/partners is not in template.yaml, so a sub-partner's client cannot be made here)
    ours = hooks(Receiver())
    theirs = hooks(Receiver())
    our_webhook = register_webhook(api, tenant, ours.url())
    their_webhook = register_webhook(api, other_tenant, theirs.url())

    # When two clients of our tenant and one of the other tenant are removed
    own = [register_client(api, tenant, f"own{n}@example.com") for n in range(2)]
    foreign = register_client(api, other_tenant, "foreign@example.com")
    for who, client_id in ((tenant, own[0]), (other_tenant, foreign), (tenant, own[1])):
        remove_client(api, who, client_id)
    pipeline.pump()

    # Then our webhook heard both of our removals, and the other tenant's webhook only its own
    heard = [verified(our_webhook["secret"], r) for r in ours.received]
    assert sorted((b["data"]["resource"]["id"], b["data"]["partnerId"]) for b in heard) == sorted(
        (client_id, tenant.partner_id) for client_id in own
    )
    (foreign_body,) = [verified(their_webhook["secret"], r) for r in theirs.received]
    assert foreign_body["data"]["resource"]["id"] == foreign
    assert foreign_body["data"]["partnerId"] == other_tenant.partner_id
    assert len(deliveries(api, tenant, our_webhook["webhookId"])) == 2
    assert len(deliveries(api, other_tenant, their_webhook["webhookId"])) == 1


# -- SSRF at delivery -----------------------------------------------------------------------------


class PoolSpy:
    """Stands in for urllib3's connection pools: records each one opened, and connects nowhere."""

    def __init__(self) -> None:
        self.opened: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import urllib3

        self.opened.append((args, kwargs))

        class Pool:
            def __enter__(self) -> Pool:
                return self

            def __exit__(self, *_: object) -> None:
                pass

            def urlopen(self, *_a: Any, **_k: Any) -> Any:
                raise urllib3.exceptions.ProtocolError("the test allows no connection")

        return Pool()


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "127.0.0.1", "169.254.169.254", "100.64.0.1", "::ffff:192.168.1.1"],
)
def test_a_webhook_whose_name_now_resolves_to_a_private_address_is_never_posted(
    api: Api,
    tenant: Tenant,
    pipeline: Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    address: str,
) -> None:
    import urllib3

    # Given an https webhook whose name resolved to a public address at registration
    host = "hooks.partner-example.com"
    answers = {host: "93.184.216.34"}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(name: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if name not in answers:
            return real_getaddrinfo(name, port, *args, **kwargs)
        ip = answers[name]
        if ":" in ip:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    webhook = register_webhook(api, tenant, f"https://{host}/hook")
    client_id = register_client(api, tenant, "ssrf@example.com")
    spy = PoolSpy()
    monkeypatch.setattr(urllib3, "HTTPSConnectionPool", spy)
    monkeypatch.setattr(urllib3, "HTTPConnectionPool", spy)

    # When the name now resolves to a private address and a client is removed
    answers[host] = address
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then no connection was ever made, and each attempt says why
    assert spy.opened == []
    (delivery,) = deliveries(api, tenant, webhook["webhookId"])
    assert delivery["eventId"] == the_event(api, tenant, client_id, "client.removed")["eventId"]
    assert delivery["status"] == "failed"
    assert delivery["attempts"], delivery
    for attempt in delivery["attempts"]:
        assert_attempt_shape(attempt)
        assert attempt["statusCode"] is None, attempt
        assert "destination refused" in attempt["error"], attempt
        assert address not in attempt["error"], "the error does not reveal the internal address"


def test_after_a_secret_rotation_deliveries_verify_with_the_old_and_the_new_secret(
    api: Api, tenant: Tenant, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given a webhook whose secret was rotated
    hook = hooks(Receiver())
    webhook = register_webhook(api, tenant, hook.url())
    reply = api.call("POST", f"{WEBHOOKS}/{webhook['webhookId']}/rotate-secret", token=tenant.token)
    assert reply.status == 200, reply.text
    new_secret = reply.body["data"]["secret"]
    assert new_secret.startswith("whsec_") and new_secret != webhook["secret"]
    client_id = register_client(api, tenant, "rotated@example.com")

    # When a client is removed and the pipeline runs
    remove_client(api, tenant, client_id)
    pipeline.pump()

    # Then the delivery carries two v1 signatures: either secret verifies it (for 24 h)
    (request,) = hook.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2, request.headers
    for secret in (new_secret, webhook["secret"]):
        assert verified(secret, request)["data"]["resource"]["id"] == client_id


# -- secrets --------------------------------------------------------------------------------------


def test_webhook_secrets_never_appear_in_events_or_deliveries(
    api: Api, tenant: Tenant, stack: Stack, pipeline: Pipeline, hooks: Callable[[Receiver], Receiver]
) -> None:
    # Given a webhook hearing webhook changes, and another webhook created, rotated and deleted
    hook = hooks(Receiver())
    listener = register_webhook(api, tenant, hook.url(), events=["webhook.created", "webhook.deleted"])
    target = register_webhook(api, tenant, hook.url("/target"))
    reply = api.call("POST", f"{WEBHOOKS}/{target['webhookId']}/rotate-secret", token=tenant.token)
    assert reply.status == 200, reply.text
    rotated = reply.body["data"]["secret"]
    reply = api.call("DELETE", f"{WEBHOOKS}/{target['webhookId']}", token=tenant.token)
    assert reply.status == 200, reply.text

    # When the pipeline has run
    pipeline.pump()

    # Then the events were delivered ...
    delivered = [verified(listener["secret"], r) for r in hook.received]
    assert sorted((b["type"], b["data"]["resource"]["id"]) for b in delivered) == sorted(
        [
            ("webhook.created", listener["webhookId"]),
            ("webhook.created", target["webhookId"]),
            ("webhook.deleted", target["webhookId"]),
        ]
    )
    # ... but no secret appears in a stored event, the audit trail, the bus or a delivery
    secrets = [listener["secret"], target["secret"], rotated]
    sealed = [
        item["secretSealed"]["S"]
        for item in shared_session()
        .client("dynamodb")
        .scan(TableName=stack.physical_ids["TenantsTable"])["Items"]
        if "secretSealed" in item
    ]
    assert len(sealed) == 2
    places = {
        "events table": json.dumps(all_event_rows(stack)),
        "audit trail": json.dumps(events_of(api, tenant)),
        "pipeline messages": json.dumps([event for _, event in pipeline.invocations]),
        "deliveries": "\n".join(r.text for r in hook.received),
    }
    for place, text in places.items():
        assert "whsec_" not in text, place
        for secret in secrets:
            assert secret.removeprefix("whsec_") not in text, place
        for value in sealed:
            assert value not in text, place
    created = [e for e in events_of(api, tenant, type="webhook.created")]
    assert {e["resource"]["id"] for e in created} == {listener["webhookId"], target["webhookId"]}
    assert all("secret" not in json.dumps(e["changes"]).lower() for e in created)
