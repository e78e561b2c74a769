"""The local stack's DynamoDB (local/dynamodb*.py): each place where moto falls short of
DynamoDB, and the patch that closes it, checked through boto3 as the product calls it.

Each test fails on moto 5.2.5 without its patch: whole-table copies, a replayed token applied
twice, queries that read the whole table, streams that keep every record and iterator.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table

from local import dynamodb, dynamodb_keys, dynamodb_streams
from tests.conftest import shared_session

TABLE = "things"


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A DynamoDB client over moto (with the local patches) and one table: PK/SK keys, a
    sparse index ``ByOwner`` (owner, created) projecting one attribute, a NEW_IMAGE stream."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    dynamodb.apply()
    with mock_aws():
        client = shared_session().client("dynamodb")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": kind}
                for name, kind in (("PK", "S"), ("SK", "S"), ("owner", "S"), ("created", "N"))
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByOwner",
                    "KeySchema": [
                        {"AttributeName": "owner", "KeyType": "HASH"},
                        {"AttributeName": "created", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]},
                }
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        yield client


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def thing(pk: str, sk: str, **attrs: Any) -> dict[str, Any]:
    item = key(pk, sk)
    for name, value in attrs.items():
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    return item


def fill(client: Any, count: int, pk: str = "tenant") -> None:
    for i in range(count):
        client.put_item(TableName=TABLE, Item=thing(pk, f"item#{i:05d}", owner="o1", created=i, name=f"n{i}"))


def stored(client: Any, pk: str, sk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(TableName=TABLE, Key=key(pk, sk)).get("Item")
    return item


def stream_records(client: Any) -> list[dict[str, Any]]:
    """Every record the stream still holds, read from its oldest."""
    streams = shared_session().client("dynamodbstreams")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return list(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])


def counter_update(pk: str, sk: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key(pk, sk),
            "UpdateExpression": "ADD #n :one",
            "ExpressionAttributeNames": {"#n": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


# -- TransactWriteItems: cost, atomicity, streams --------------------------------------------------


@pytest.mark.parametrize("table_size", [10, 1_000])
def test_a_transaction_copies_only_the_items_it_touches(
    ddb: Any, monkeypatch: pytest.MonkeyPatch, table_size: int
) -> None:
    # Given a table of some size
    fill(ddb, table_size)
    copied: list[Any] = []
    real_deepcopy = copy.deepcopy

    def counting_deepcopy(value: Any, memo: Any = None) -> Any:
        if memo is None:  # the outermost call: what is being copied
            copied.append(value)
        return real_deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting_deepcopy)

    # When a transaction puts one item, updates one, deletes one and checks one
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": thing("tenant", "new", name="n")}},
            counter_update("tenant", "item#00001"),
            {"Delete": {"TableName": TABLE, "Key": key("tenant", "item#00002")}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": key("tenant", "item#00003"),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
        ]
    )

    # Then no table was copied, and what was copied is the updated item (kept to undo the
    # update, and by moto for the stream's old image): the same count whatever the table's size
    assert not [c for c in copied if isinstance(c, Table)]
    copied_items = [c for c in copied if type(c).__name__ == "Item"]
    assert {c.range_key.value for c in copied_items} == {"item#00001"}
    assert len(copied) == 2
    assert stored(ddb, "tenant", "new") is not None
    assert stored(ddb, "tenant", "item#00001")["count"] == {"N": "1"}  # type: ignore[index]
    assert stored(ddb, "tenant", "item#00002") is None


def test_a_cancelled_transaction_leaves_the_table_and_its_stream_as_they_were(ddb: Any) -> None:
    # Given an item and the stream records so far
    ddb.put_item(TableName=TABLE, Item=thing("tenant", "taken", name="first"))
    before = stream_records(ddb)

    # When a transaction's second condition fails
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": thing("tenant", "other", name="x")}},
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": thing("tenant", "taken", name="second"),
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )

    # Then it is cancelled with DynamoDB's reasons (the old item included), and nothing changed
    error = refused.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    reasons = error["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["name"] == {"S": "first"}
    assert stored(ddb, "tenant", "other") is None
    assert stored(ddb, "tenant", "taken")["name"] == {"S": "first"}  # type: ignore[index]
    assert stream_records(ddb) == before


def test_a_transaction_failing_half_way_undoes_its_applied_actions_and_their_records(ddb: Any) -> None:
    # Given an item whose attribute is a string, and the stream so far
    ddb.put_item(TableName=TABLE, Item=thing("tenant", "text", count="not a number"))
    before = stream_records(ddb)

    # When a transaction puts an item, then adds a number to that string (invalid: applied last)
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": thing("tenant", "fresh", name="x")}},
                counter_update("tenant", "text"),
            ]
        )

    # Then DynamoDB's validation error, the put undone, the string untouched, no new records
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert stored(ddb, "tenant", "fresh") is None
    assert stored(ddb, "tenant", "text")["count"] == {"S": "not a number"}  # type: ignore[index]
    assert stream_records(ddb) == before


def test_two_actions_on_one_item_are_refused_before_anything_is_written(ddb: Any) -> None:
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": thing("tenant", "same")}},
                counter_update("tenant", "same"),
            ]
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert stored(ddb, "tenant", "same") is None


# -- ClientRequestToken ----------------------------------------------------------------------------


def test_a_transaction_replayed_with_its_token_succeeds_and_applies_once(ddb: Any) -> None:
    # Given a transaction that succeeded with a token
    token = str(uuid.uuid4())
    items = [counter_update("tenant", "counter")]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    records = len(stream_records(ddb))

    # When the same request comes again (the SDK's retry after a lost response)
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)

    # Then it succeeds without applying again: one increment, no new stream record
    assert stored(ddb, "tenant", "counter")["count"] == {"N": "1"}  # type: ignore[index]
    assert len(stream_records(ddb)) == records
    # and without a token each call applies, as in DynamoDB
    ddb.transact_write_items(TransactItems=items)
    assert stored(ddb, "tenant", "counter")["count"] == {"N": "2"}  # type: ignore[index]


def test_a_token_reused_with_other_items_is_an_idempotent_parameter_mismatch(ddb: Any) -> None:
    token = str(uuid.uuid4())
    ddb.transact_write_items(TransactItems=[counter_update("tenant", "a")], ClientRequestToken=token)

    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=[counter_update("tenant", "b")], ClientRequestToken=token)

    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert stored(ddb, "tenant", "b") is None


def test_a_token_is_forgotten_after_ten_minutes(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a transaction that succeeded with a token
    token = str(uuid.uuid4())
    items = [counter_update("tenant", "counter")]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)

    # When the same request comes more than 10 minutes later
    later = dynamodb.time.monotonic() + dynamodb.TOKEN_SECONDS + 1
    monkeypatch.setattr(dynamodb.time, "monotonic", lambda: later)
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)

    # Then DynamoDB treats it as a new request
    assert stored(ddb, "tenant", "counter")["count"] == {"N": "2"}  # type: ignore[index]


def test_a_cancelled_transaction_does_not_keep_its_token(ddb: Any) -> None:
    # Given a transaction cancelled by its condition
    token = str(uuid.uuid4())
    items = [
        {
            "Put": {
                "TableName": TABLE,
                "Item": thing("tenant", "late"),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }
    ]
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)

    # When it is sent again with the same token after its condition came to hold
    ddb.put_item(TableName=TABLE, Item=thing("tenant", "late", name="exists now"))
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)

    # Then it ran (a replayed success would have written nothing)
    assert "name" not in stored(ddb, "tenant", "late")  # type: ignore[operator]


# -- Query in key order ----------------------------------------------------------------------------


def page_through(client: Any, **query: Any) -> list[list[dict[str, Any]]]:
    pages, start = [], None
    while True:
        reply = client.query(TableName=TABLE, **query, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(reply["Items"])
        start = reply.get("LastEvaluatedKey")
        if not start:
            return pages


QUERIES = [
    {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "t1"}}},
    {
        "KeyConditionExpression": "PK = :p AND begins_with(SK, :s)",
        "ExpressionAttributeValues": {":p": {"S": "t1"}, ":s": {"S": "b#"}},
    },
    {
        "KeyConditionExpression": "PK = :p AND SK BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":p": {"S": "t2"}, ":a": {"S": "a#0010"}, ":b": {"S": "b#0030"}},
    },
    {
        "KeyConditionExpression": "PK = :p AND SK < :s",
        "ExpressionAttributeValues": {":p": {"S": "t1"}, ":s": {"S": "b#0005"}},
        "ScanIndexForward": False,
    },
    {
        "IndexName": "ByOwner",
        "KeyConditionExpression": "#o = :o",
        "ExpressionAttributeNames": {"#o": "owner"},
        "ExpressionAttributeValues": {":o": {"S": "o1"}},
    },
    {
        "IndexName": "ByOwner",
        "KeyConditionExpression": "#o = :o AND created >= :c",
        "ExpressionAttributeNames": {"#o": "owner"},
        "ExpressionAttributeValues": {":o": {"S": "o2"}, ":c": {"N": "7"}},
        "ScanIndexForward": False,
    },
    {
        "IndexName": "ByOwner",
        "KeyConditionExpression": "#o = :o",
        "FilterExpression": "#n <> :n",
        "ExpressionAttributeNames": {"#o": "owner", "#n": "name"},
        "ExpressionAttributeValues": {":o": {"S": "o1"}, ":n": {"S": "n3"}},
    },
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("limit", [None, 1, 7])
def test_queries_answer_as_moto_and_dynamodb_do_page_by_page(
    ddb: Any, monkeypatch: pytest.MonkeyPatch, query: dict[str, Any], limit: int | None
) -> None:
    # Given items in two partitions, some without the index's attributes, some rewritten
    rng = random.Random(7)
    for i in range(60):
        attrs: dict[str, Any] = {"name": f"n{i % 5}", "extra": "not projected"}
        if i % 4:
            attrs |= {"owner": rng.choice(["o1", "o2"]), "created": rng.randrange(20)}  # ties on purpose
        ddb.put_item(
            TableName=TABLE, Item=thing(rng.choice(["t1", "t2"]), f"{rng.choice('ab')}#{i:04d}", **attrs)
        )
    ddb.update_item(
        TableName=TABLE,
        Key=key("t1", "a#0001") if stored(ddb, "t1", "a#0001") else key("t2", "a#0001"),
        UpdateExpression="SET #o = :o, created = :c",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "o2"}, ":c": {"N": "7"}},
    )
    ddb.delete_item(TableName=TABLE, Key=key("t1", "b#0002"))
    paging = {"Limit": limit} if limit else {}

    # When the same query pages through with the key order, and with moto's own Table.query
    fast = page_through(ddb, **query, **paging)
    monkeypatch.setattr(Table, "query", dynamodb_keys.MOTO_QUERY)
    slow = page_through(ddb, **query, **paging)

    # Then they find the same items in the same order, on pages of at most Limit items that end
    # where DynamoDB's end: a full page always says where to go on (moto's looks ahead first)
    items = [item for page in fast for item in page]
    assert items == [item for page in slow for item in page]
    if limit:
        assert all(len(page) <= limit for page in fast)
    if limit and "FilterExpression" not in query:  # (a filter may leave a page empty)
        assert len(fast) == len(items) // limit + 1
    if "IndexName" in query:  # an index page holds only the projected attributes
        assert items and all("extra" not in item for item in items)


def test_a_query_reads_its_partition_not_the_whole_table(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a table with many partitions, queried once already (the key order is built then)
    for tenant in range(20):
        fill(ddb, 5, pk=f"tenant{tenant}")
    ddb.query(TableName=TABLE, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "x"}})

    # When every item of the table is off limits, a query by key and by index still answers
    def whole_table(_: Table) -> Any:
        raise AssertionError("the query went through every item of the table")

    monkeypatch.setattr(Table, "all_items", whole_table)
    by_key = ddb.query(
        TableName=TABLE,
        KeyConditionExpression="PK = :p AND begins_with(SK, :s)",
        ExpressionAttributeValues={":p": {"S": "tenant3"}, ":s": {"S": "item#0000"}},
        Limit=2,
    )
    by_index = ddb.query(
        TableName=TABLE,
        IndexName="ByOwner",
        KeyConditionExpression="#o = :o AND created = :c",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "o1"}, ":c": {"N": "4"}},
    )

    assert [i["SK"]["S"] for i in by_key["Items"]] == ["item#00000", "item#00001"]
    assert by_key["LastEvaluatedKey"] == key("tenant3", "item#00001")
    assert by_index["Count"] == 20


def test_an_index_page_ends_at_a_megabyte_of_its_entries_not_of_the_whole_items(ddb: Any) -> None:
    # Given 30 items of 100 KB each (3 MB in all) whose index entries hold a few bytes
    for i in range(30):
        item = thing("big", f"item#{i:02d}", owner="o-big", created=i, name="n")
        item["blob"] = {"S": "x" * 100_000}  # not projected into ByOwner
        ddb.put_item(TableName=TABLE, Item=item)

    # When the index is queried without a Limit
    page = ddb.query(
        TableName=TABLE,
        IndexName="ByOwner",
        KeyConditionExpression="#o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "o-big"}},
    )

    # Then one page holds them all, as DynamoDB's would (its limit counts what the index holds),
    # while the table itself, queried whole, still stops at 1 MB
    assert page["Count"] == 30 and "LastEvaluatedKey" not in page
    whole = ddb.query(
        TableName=TABLE, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "big"}}
    )
    assert whole["Count"] < 30 and "LastEvaluatedKey" in whole


# -- Streams ----------------------------------------------------------------------------------------


def shard_of(client: Any) -> Any:
    """moto's shard object behind the table's stream (what the stream holds in memory)."""
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["us-east-1"].get_table(TABLE).stream_shard


def test_stream_records_every_reader_passed_are_dropped(ddb: Any) -> None:
    # Given a reader at the stream's start, and three writes
    streams = shared_session().client("dynamodbstreams")
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    fill(ddb, 3)

    # When the reader reads them, then asks for more with the iterator it was given
    first = streams.get_records(ShardIterator=iterator["ShardIterator"])
    assert len(first["Records"]) == 3
    assert len(shard_of(ddb).items) == 3  # still there: the reader may ask for its batch again
    second = streams.get_records(ShardIterator=first["NextShardIterator"])

    # Then the records it passed are gone, later ones keep counting, and the first iterator is dead
    assert second["Records"] == []
    assert shard_of(ddb).items == []
    fill(ddb, 1, pk="later")
    third = streams.get_records(ShardIterator=second["NextShardIterator"])["Records"]
    assert (
        int(third[0]["dynamodb"]["SequenceNumber"])
        == int(first["Records"][-1]["dynamodb"]["SequenceNumber"]) + 1
    )
    with pytest.raises(ClientError) as dead:
        streams.get_records(ShardIterator=iterator["ShardIterator"])
    assert dead.value.response["Error"]["Code"] == "ExpiredIteratorException"
    # and a new reader at the trim horizon starts at the oldest record kept
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in stream_records(ddb)] == ["later"]
    with pytest.raises(ClientError) as trimmed:
        streams.get_shard_iterator(
            StreamArn=arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=first["Records"][0]["dynamodb"]["SequenceNumber"],
        )
    assert trimmed.value.response["Error"]["Code"] == "TrimmedDataAccessException"


def test_a_reader_can_read_its_unfinished_batch_again(ddb: Any) -> None:
    # Given a reader that read a batch but has not moved on (its function failed)
    streams = shared_session().client("dynamodbstreams")
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    fill(ddb, 2)
    batch = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]

    # When it asks for the batch again from its first record, as Lambda's retry does
    again = streams.get_shard_iterator(
        StreamArn=arn,
        ShardId=shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=batch[0]["dynamodb"]["SequenceNumber"],
    )

    # Then it gets the same records
    assert streams.get_records(ShardIterator=again["ShardIterator"])["Records"] == batch


def test_records_older_than_24_hours_and_iterators_older_than_15_minutes_expire(
    ddb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    # Given two records and an iterator nobody used
    streams = shared_session().client("dynamodbstreams")
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    idle = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    fill(ddb, 2)

    # When 24 hours and a bit have passed
    later = dynamodb_streams.time.monotonic() + 24 * 3600 + 60
    monkeypatch.setattr(dynamodb_streams.time, "monotonic", lambda: later)
    dynamodb_streams.trim(shard_of(ddb), now=datetime.now(UTC) + timedelta(hours=24, minutes=1))

    # Then the records are gone and the iterator has expired
    assert shard_of(ddb).items == []
    with pytest.raises(ClientError) as expired:
        streams.get_records(ShardIterator=idle["ShardIterator"])
    assert expired.value.response["Error"]["Code"] == "ExpiredIteratorException"


# -- Responses --------------------------------------------------------------------------------------


def every_item_operation(client: Any) -> list[dict[str, Any]]:
    """Each item operation once, over every attribute type; the answers without their metadata."""
    item = {
        **key("t", "1"),
        "n": {"N": "1.50"},
        "b": {"B": b"\x00\xff"},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"\x01"]},
        "m": {"M": {"k": {"L": [{"NULL": True}, {"BOOL": False}, {"S": ""}]}}},
        "owner": {"S": "o"},
        "created": {"N": "1"},
    }
    answers = [
        client.put_item(TableName=TABLE, Item=item, ReturnValues="ALL_OLD"),
        client.put_item(TableName=TABLE, Item=item, ReturnValues="ALL_OLD"),
        client.get_item(TableName=TABLE, Key=key("t", "1")),
        client.get_item(TableName=TABLE, Key=key("t", "2")),
        client.update_item(
            TableName=TABLE,
            Key=key("t", "1"),
            UpdateExpression="SET x = :x",
            ExpressionAttributeValues={":x": {"N": "3"}},
            ReturnValues="ALL_NEW",
        ),
        client.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": "t"}},
            ReturnConsumedCapacity="TOTAL",
        ),
        client.query(
            TableName=TABLE,
            IndexName="ByOwner",
            KeyConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": {"S": "o"}},
            Select="COUNT",
        ),
        client.scan(TableName=TABLE),
        client.batch_get_item(RequestItems={TABLE: {"Keys": [key("t", "1"), key("zz", "1")]}}),
        client.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": key("u", "1")}}]}),
        client.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key("t", "1")}}]),
        client.delete_item(TableName=TABLE, Key=key("t", "1"), ReturnValues="ALL_OLD"),
    ]
    for answer in answers:
        answer.pop("ResponseMetadata", None)
    return answers


def test_item_operations_answer_exactly_as_motos_serializer_without_using_it(
    ddb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core.serialize import ResponseSerializer
    from moto.dynamodb.responses import DynamoResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    # Given moto's own answers to every item operation
    with monkeypatch.context() as moto_itself:
        moto_itself.setattr(DynamoResult, "execute_result", dynamodb.MOTO_EXECUTE_RESULT)
        moto_itself.setattr(DynamoDBStreamsHandler, "get_records", dynamodb.MOTO_GET_RECORDS)
        expected = every_item_operation(ddb)
    ddb.delete_item(TableName=TABLE, Key=key("u", "1"))

    # When the same operations run again, noting what moto's model-driven serializer writes
    serialized: list[str] = []
    model_driven = ResponseSerializer.serialize

    def noting(serializer: Any, result: Any) -> Any:
        serialized.append(serializer.operation_model.name)
        return model_driven(serializer, result)

    monkeypatch.setattr(ResponseSerializer, "serialize", noting)
    answers = every_item_operation(ddb)

    # Then every answer is the same, and none that carries items went through the model
    assert answers == expected
    records = stream_records(ddb)
    assert "TransactGetItems" not in serialized and "GetRecords" not in serialized
    with monkeypatch.context() as moto_itself:
        moto_itself.setattr(DynamoDBStreamsHandler, "get_records", dynamodb.MOTO_GET_RECORDS)
        assert records == stream_records(ddb)
    assert records[0]["dynamodb"]["NewImage"]["b"] == {"B": b"\x00\xff"}
    assert {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem"}.isdisjoint(
        serialized
    )
