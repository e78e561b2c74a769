"""The local emulation of the template's stream and queue triggers (local/triggers.py), over moto.

The pipeline functions are replaced by fakes (tests/support/fake_functions): these tests are
about what reaches a function and what happens to its batch, not about the functions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.run import GatewayResponses, InProcessRunner
from local.stack import Stack
from local.triggers import Triggers, _filters, _matches
from tests.conftest import shared_session
from tests.support.fake_functions import FakeFunctions, always_raise, item_failures

PUBLISH, FAN_OUT, DELIVER = "PublishEventsFunction", "FanOutWebhooksFunction", "DeliverWebhookFunction"


@pytest.fixture
def fakes() -> FakeFunctions:
    return FakeFunctions()


@pytest.fixture
def triggers(stack: Stack, fakes: FakeFunctions) -> Triggers:
    return Triggers(stack, fakes.invoke, session=shared_session())


def client(name: str) -> Any:
    return shared_session().client(name)


def put_event(stack: Stack, sk: str, **fields: Any) -> None:
    item = {"PK": {"S": "TENANT#t1"}, "SK": {"S": sk}, **fields}
    client("dynamodb").put_item(TableName=stack.physical_ids["EventsTable"], Item=item)


def send(stack: Stack, queue: str, *bodies: str) -> list[str]:
    sqs = client("sqs")
    return [
        sqs.send_message(
            QueueUrl=stack.physical_ids[queue],
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )["MessageId"]
        for body in bodies
    ]


def make_visible(stack: Stack, queue: str, receipt_handle: str) -> None:
    """What the end of the visibility timeout does, now."""
    client("sqs").change_message_visibility(
        QueueUrl=stack.physical_ids[queue], ReceiptHandle=receipt_handle, VisibilityTimeout=0
    )


def queue_depth(stack: Stack, queue: str) -> int:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=stack.physical_ids[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def sequence_numbers(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]


def sort_keys(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["SK"]["S"] for r in event["Records"]]


# -- provisioning -------------------------------------------------------------------------------


def test_the_pipeline_resources_come_from_the_template(stack: Stack) -> None:
    sqs = client("sqs")
    url = stack.physical_ids["WebhookDeliveryQueue"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "90"
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.get_att("WebhookDeliveryDeadLetterQueue", "Arn"),
        "maxReceiveCount": 8,
    }
    key = client("kms").describe_key(KeyId=stack.physical_ids["WebhookSecretsKey"])["KeyMetadata"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert key["Arn"] == stack.get_att("WebhookSecretsKey", "Arn")
    bus = stack.physical_ids["EventBus"]
    assert bus == "test-events"  # !Sub "${AWS::StackName}-events"
    events = client("events")
    rules = {r["Arn"]: r for r in events.list_rules(EventBusName=bus)["Rules"]}
    assert set(rules) == {stack.get_att("WebhookEventsRule", "Arn"), stack.get_att("WelcomeEmailRule", "Arn")}
    rule = rules[stack.get_att("WebhookEventsRule", "Arn")]
    assert json.loads(rule["EventPattern"]) == {"source": ["partner-api"]}
    (target,) = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    assert target["Arn"] == stack.get_att("WebhookEventsQueue", "Arn")
    welcome = rules[stack.get_att("WelcomeEmailRule", "Arn")]
    assert json.loads(welcome["EventPattern"]) == {
        "source": ["partner-api"],
        "detail-type": ["partner.created", "partner.updated"],
        "detail": {"notify": {"welcomeEmail": {"to": [{"exists": True}]}}},
    }
    (target,) = events.list_targets_by_rule(Rule=welcome["Name"], EventBusName=bus)["Targets"]
    assert target["Arn"] == stack.get_att("WelcomeEmailQueue", "Arn")
    identities = client("ses").list_identities(IdentityType="EmailAddress")["Identities"]
    assert identities == [environment_sender := stack.environment()["WELCOME_EMAIL_SENDER"]]
    assert environment_sender == "welcome@example.com"
    table_arn = stack.get_att("EventsTable", "Arn")
    assert stack.get_att("EventsTable", "StreamArn").startswith(table_arn + "/stream/")
    environment = stack.environment()
    assert environment["EVENT_BUS_NAME"] == bus
    assert environment["WEBHOOK_DELIVERY_QUEUE_URL"] == stack.physical_ids["WebhookDeliveryQueue"]
    assert environment["WEBHOOK_SECRETS_KEY_ID"] == stack.physical_ids["WebhookSecretsKey"]


# -- DynamoDB stream ----------------------------------------------------------------------------


def test_a_stream_insert_reaches_the_function_in_lambdas_shape(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    put_event(stack, "EVENT#1", type={"S": "client.created"}, blob={"B": b"\x00\x01"})

    assert triggers.pump() == 1

    (event,) = fakes.calls[PUBLISH]
    (record,) = event["Records"]
    assert set(record) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert record["eventName"] == "INSERT"
    assert (record["eventSource"], record["eventVersion"]) == ("aws:dynamodb", "1.1")
    assert record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == stack.get_att("EventsTable", "StreamArn")
    change = record["dynamodb"]
    assert set(change) == {
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }
    assert isinstance(change["ApproximateCreationDateTime"], int)
    assert change["Keys"] == {"PK": {"S": "TENANT#t1"}, "SK": {"S": "EVENT#1"}}
    assert change["NewImage"]["type"] == {"S": "client.created"}
    assert change["NewImage"]["blob"] == {"B": "AAE="}  # base64 text, as in Lambda's JSON
    assert change["StreamViewType"] == "NEW_IMAGE"
    json.dumps(event)  # nothing a real event could not carry
    assert triggers.pump() == 0


def test_a_stream_modify_is_filtered_out(stack: Stack, fakes: FakeFunctions, triggers: Triggers) -> None:
    put_event(stack, "EVENT#1", n={"N": "1"})
    triggers.pump()
    client("dynamodb").update_item(
        TableName=stack.physical_ids["EventsTable"],
        Key={"PK": {"S": "TENANT#t1"}, "SK": {"S": "EVENT#1"}},
        UpdateExpression="SET n = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    put_event(stack, "EVENT#2")

    assert triggers.pump() == 1

    assert [sort_keys(e) for e in fakes.calls[PUBLISH]] == [["EVENT#1"], ["EVENT#2"]]


def test_a_partial_stream_failure_is_retried_from_the_failed_record(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    for n in (1, 2, 3):
        put_event(stack, f"EVENT#{n}")

    def fail_the_second_once(event: dict[str, Any], earlier: int) -> Any:
        return item_failures([sequence_numbers(event)[1]] if earlier == 0 else [])

    fakes.behaviour[PUBLISH] = fail_the_second_once

    assert triggers.pump() == 3 + 2

    first, second = fakes.calls[PUBLISH]
    assert sort_keys(first) == ["EVENT#1", "EVENT#2", "EVENT#3"]
    assert sort_keys(second) == ["EVENT#2", "EVENT#3"]
    assert sequence_numbers(second) == sequence_numbers(first)[1:]


def test_a_stream_batch_whose_function_raised_is_delivered_again_whole(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    for n in (1, 2):
        put_event(stack, f"EVENT#{n}")

    def raise_once(event: dict[str, Any], earlier: int) -> Any:
        return always_raise(event, earlier) if earlier == 0 else item_failures([])

    fakes.behaviour[PUBLISH] = raise_once

    assert triggers.pump() == 2 + 2
    assert [sort_keys(e) for e in fakes.calls[PUBLISH]] == [["EVENT#1", "EVENT#2"]] * 2


def test_an_invalid_item_identifier_fails_the_whole_stream_batch(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    put_event(stack, "EVENT#1")
    fakes.behaviour[PUBLISH] = lambda _e, earlier: item_failures(["nonsense"] if earlier == 0 else [])

    triggers.pump()

    assert [sort_keys(e) for e in fakes.calls[PUBLISH]] == [["EVENT#1"]] * 2


# -- SQS ----------------------------------------------------------------------------------------


def test_sqs_batch_item_failures_keep_only_the_failed_message(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    ids = send(stack, "WebhookEventsQueue", "one", "two", "three")
    fakes.behaviour[FAN_OUT] = lambda _e, earlier: item_failures([ids[1]] if earlier == 0 else [])

    assert triggers.pump() == 3

    (first,) = fakes.calls[FAN_OUT]
    assert [r["body"] for r in first["Records"]] == ["one", "two", "three"]
    record = first["Records"][0]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["messageId"] == ids[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.get_att("WebhookEventsQueue", "Arn")
    assert record["awsRegion"] == "us-east-1"
    system = {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert system <= set(record["attributes"])
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    json.dumps(first)
    assert queue_depth(stack, "WebhookEventsQueue") == 1  # only "two", in flight

    make_visible(stack, "WebhookEventsQueue", first["Records"][1]["receiptHandle"])
    assert triggers.pump() == 1

    (again,) = fakes.calls[FAN_OUT][1]["Records"]
    assert (again["messageId"], again["body"]) == (ids[1], "two")
    assert again["attributes"]["ApproximateReceiveCount"] == "2"
    assert queue_depth(stack, "WebhookEventsQueue") == 0


def test_a_raising_function_leaves_its_whole_sqs_batch(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    send(stack, "WebhookEventsQueue", "one", "two")
    fakes.behaviour[FAN_OUT] = always_raise

    assert triggers.pump() == 2
    assert queue_depth(stack, "WebhookEventsQueue") == 2


def test_the_sqs_batch_size_is_the_events(stack: Stack, fakes: FakeFunctions, triggers: Triggers) -> None:
    send(stack, "WebhookDeliveryQueue", "a", "b", "c")  # DeliverWebhookFunction: BatchSize 1

    assert triggers.pump() == 3
    assert [len(e["Records"]) for e in fakes.calls[DELIVER]] == [1, 1, 1]


def test_a_message_failing_max_receive_count_times_lands_in_the_dead_letter_queue(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    (message_id,) = send(stack, "WebhookDeliveryQueue", "deliver me")  # maxReceiveCount: 8
    fakes.behaviour[DELIVER] = always_raise

    for _ in range(10):
        if triggers.pump():  # delivered and failed; then its visibility timeout ends:
            last = fakes.calls[DELIVER][-1]["Records"][0]
            make_visible(stack, "WebhookDeliveryQueue", last["receiptHandle"])

    counts = [e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in fakes.calls[DELIVER]]
    assert counts == [str(n) for n in range(1, 9)]
    assert queue_depth(stack, "WebhookDeliveryQueue") == 0
    dead = client("sqs").receive_message(
        QueueUrl=stack.physical_ids["WebhookDeliveryDeadLetterQueue"], MaxNumberOfMessages=10
    )["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in dead] == [(message_id, "deliver me")]


# -- EventBridge ---------------------------------------------------------------------------------


def test_put_events_on_the_bus_reaches_the_fan_out_queue_through_the_rule(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    client("events").put_events(
        Entries=[
            {
                "EventBusName": stack.physical_ids["EventBus"],
                "Source": source,
                "DetailType": "client.created",
                "Detail": json.dumps({"eventId": source}),
            }
            for source in ("partner-api", "someone-else")
        ]
    )

    assert triggers.pump() == 1

    (event,) = fakes.calls[FAN_OUT]
    (record,) = event["Records"]
    body = json.loads(record["body"])
    assert body["source"] == "partner-api"
    assert body["detail-type"] == "client.created"
    assert body["detail"] == {"eventId": "partner-api"}
    assert {"id", "time", "region", "resources", "version"} <= set(body)


def test_the_whole_pipeline_passes_an_outbox_insert_along(
    stack: Stack, fakes: FakeFunctions, triggers: Triggers
) -> None:
    """Stream -> publisher -> bus -> rule -> queue -> fan-out -> delivery queue -> delivery."""

    def publish(event: dict[str, Any], _earlier: int) -> Any:
        client("events").put_events(
            Entries=[
                {
                    "EventBusName": stack.physical_ids["EventBus"],
                    "Source": "partner-api",
                    "DetailType": "event",
                    "Detail": json.dumps({"sk": r["dynamodb"]["Keys"]["SK"]["S"]}),
                }
                for r in event["Records"]
            ]
        )
        return item_failures([])

    def fan_out(event: dict[str, Any], _earlier: int) -> Any:
        for record in event["Records"]:
            send(stack, "WebhookDeliveryQueue", json.loads(record["body"])["detail"]["sk"])
        return item_failures([])

    fakes.behaviour.update({PUBLISH: publish, FAN_OUT: fan_out})
    put_event(stack, "EVENT#1")

    assert triggers.pump() == 3
    assert [r["body"] for e in fakes.calls[DELIVER] for r in e["Records"]] == ["EVENT#1"]


# -- the local server's way of invoking, and the filter patterns -----------------------------------


def test_the_runner_invokes_a_handler_file_the_template_names(stack: Stack) -> None:
    template = {
        "Resources": {
            "Recorder": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "tests/support/fake_functions/",
                    "Handler": "recorder.handler",
                    "Events": {
                        "Queue": {
                            "Type": "SQS",
                            "Properties": {
                                "Queue": {"Fn::GetAtt": ["PublisherFailureQueue", "Arn"]},
                                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            },
                        }
                    },
                },
            }
        }
    }
    runner = InProcessRunner(GatewayResponses({}), template=template)
    triggers = Triggers(stack, runner.call, session=shared_session(), template=template)
    send(stack, "PublisherFailureQueue", "hello")

    assert triggers.pump() == 1

    with runner.containers.lease("Recorder") as container:  # the one container that ran it
        recorded = container.module.EVENTS
    ((event, function_name),) = recorded
    assert function_name == "Recorder"
    assert [r["body"] for r in event["Records"]] == ["hello"]
    assert queue_depth(stack, "PublisherFailureQueue") == 0


def test_the_background_thread_delivers_too(stack: Stack, fakes: FakeFunctions, triggers: Triggers) -> None:
    import time

    triggers.start(interval=0.05)
    try:
        put_event(stack, "EVENT#1")
        deadline = time.monotonic() + 5
        while not fakes.calls[PUBLISH] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        triggers.stop()
    assert [sort_keys(e) for e in fakes.calls[PUBLISH]] == [["EVENT#1"]]


B_IMAGE = {"t": {"S": "b"}}


@pytest.mark.parametrize(
    ("pattern", "record", "kept"),
    [
        ('{"eventName": ["INSERT"]}', {"eventName": "INSERT"}, True),
        ('{"eventName": ["INSERT"]}', {"eventName": "MODIFY"}, False),
        ('{"eventName": ["INSERT"]}', {}, False),
        ('{"dynamodb": {"NewImage": {"t": {"S": ["a", "b"]}}}}', {"dynamodb": {"NewImage": B_IMAGE}}, True),
        ('{"dynamodb": {"NewImage": {"t": {"S": ["a"]}}}}', {"dynamodb": {"NewImage": B_IMAGE}}, False),
        ('{"body": {"kind": ["x"]}}', {"body": '{"kind": "x"}'}, True),
        ('{"body": {"kind": ["x"]}}', {"body": "not json"}, False),
        ('{"n": [1]}', {"n": True}, False),
    ],
)
def test_filter_patterns(pattern: str, record: dict[str, Any], kept: bool) -> None:
    (parsed,) = _filters({"FilterCriteria": {"Filters": [{"Pattern": pattern}]}})
    assert _matches(parsed, record) is kept


def test_filter_operators_not_emulated_are_refused() -> None:
    with pytest.raises(NotImplementedError):
        _filters({"FilterCriteria": {"Filters": [{"Pattern": '{"eventName": [{"prefix": "IN"}]}'}]}})
