"""Create the template's AWS resources in moto, from the template's own definitions."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local import template as tpl

# Resource types the local stack creates; the rest (API, functions, layer, logs, alarms, queue
# policies) run in-process or have no local meaning.
_TABLE, _KEY, _SECRET = "AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::SecretsManager::Secret"
_QUEUE, _BUS, _RULE = "AWS::SQS::Queue", "AWS::Events::EventBus", "AWS::Events::Rule"
_EMAIL_IDENTITY = "AWS::SES::EmailIdentity"
# Queue properties that are not SQS queue attributes.
_QUEUE_NOT_ATTRIBUTES = {"QueueName", "Tags"}


@dataclass
class Stack:
    prefix: str
    physical_ids: dict[str, str] = field(default_factory=dict)  # logical id -> what !Ref gives
    parameters: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> !GetAtt's
    region: str = "us-east-1"
    account_id: str = "123456789012"

    @property
    def scope(self) -> tpl.Scope:
        pseudo = {
            "AWS::StackName": self.prefix,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        return tpl.Scope(self.physical_ids, self.parameters, self.attributes, pseudo)

    def resolve(self, value: Any) -> Any:
        """``value`` (template data) with ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join`` resolved."""
        return self.scope.resolve(value)

    def get_att(self, logical_id: str, attribute: str) -> str:
        return self.scope.get_att(logical_id, attribute)

    def environment(self, logical_id: str | None = None) -> dict[str, str]:
        scope = self.scope
        return tpl.function_environment(
            self.physical_ids, self.parameters, logical_id, attributes=self.attributes, pseudo=scope.pseudo
        )


def provision(
    prefix: str = "partner-api-local", parameters: dict[str, str] | None = None, session: Any = None
) -> Stack:
    """Create every table, key, secret, queue, event bus, rule and SES identity of the template,
    dependencies first; returns their physical ids and attributes."""
    import boto3

    session = session or boto3.session.Session()
    template = tpl.load()
    stack = Stack(
        prefix,
        parameters={**tpl.parameter_defaults(template), **(parameters or {})},
        region=session.region_name or "us-east-1",
        account_id=session.client("sts").get_caller_identity()["Account"],
    )
    creators: dict[str, Callable[[Any, Stack, str, dict[str, Any]], None]] = {
        _TABLE: _create_table,
        _KEY: _create_key,
        _SECRET: _create_secret,
        _QUEUE: _create_queue,
        _BUS: _create_event_bus,
        _RULE: _create_rule,
        _EMAIL_IDENTITY: _create_email_identity,
    }
    resources = {k: r for k, r in template["Resources"].items() if r["Type"] in creators}
    for logical_id in _dependency_order(resources):
        resource = resources[logical_id]
        creators[resource["Type"]](session, stack, logical_id, resource.get("Properties") or {})
    return stack


def _dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids in template order, except that each comes after the resources it refers to."""
    needs = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn") or []
        mentioned = tpl.references(resource.get("Properties") or {}) | set(
            [depends] if isinstance(depends, str) else depends
        )
        needs[logical_id] = mentioned & set(resources) - {logical_id}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in ordered:
            return
        if logical_id in visiting:
            raise ValueError(f"circular reference through {logical_id} in the template")
        visiting.add(logical_id)
        for needed in sorted(needs[logical_id], key=list(resources).index):
            visit(needed)
        visiting.discard(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered


def _create_table(session: Any, stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    props = stack.resolve(props)
    name = props.get("TableName") or f"{stack.prefix}-{logical_id}"
    dynamodb = session.client("dynamodb")
    params: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        params["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        params["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    table = dynamodb.create_table(**params)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    stack.physical_ids[logical_id] = name
    stack.attributes[logical_id] = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        stack.attributes[logical_id]["StreamArn"] = table["LatestStreamArn"]


def _create_key(session: Any, stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    kms = session.client("kms")
    key_spec = props.get("KeySpec", "SYMMETRIC_DEFAULT")
    key = kms.create_key(
        Description=props.get("Description", logical_id),
        KeySpec=key_spec,
        KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
    )["KeyMetadata"]
    if props.get("EnableKeyRotation") in (True, "true") and key_spec == "SYMMETRIC_DEFAULT":
        kms.enable_key_rotation(KeyId=key["KeyId"])
    stack.physical_ids[logical_id] = key["KeyId"]
    stack.attributes[logical_id] = {"Arn": key["Arn"], "KeyId": key["KeyId"]}


def _create_secret(session: Any, stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    arn = session.client("secretsmanager").create_secret(
        Name=f"{stack.prefix}-{logical_id}",
        SecretString=secrets.token_urlsafe(48),
    )["ARN"]
    stack.physical_ids[logical_id] = arn
    stack.attributes[logical_id] = {"Id": arn}


def _create_queue(session: Any, stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    props = stack.resolve(props)
    fifo = props.get("FifoQueue") in (True, "true")
    name = props.get("QueueName") or f"{stack.prefix}-{logical_id}" + (".fifo" if fifo else "")
    attributes = {
        key: json.dumps(value) if isinstance(value, dict) else _attribute_text(value)
        for key, value in props.items()
        if key not in _QUEUE_NOT_ATTRIBUTES
    }
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.physical_ids[logical_id] = url
    stack.attributes[logical_id] = {"Arn": arn, "QueueName": name, "QueueUrl": url}


def _create_event_bus(session: Any, stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    props = stack.resolve(props)
    name = props.get("Name") or f"{stack.prefix}-{logical_id}"
    arn = session.client("events").create_event_bus(Name=name)["EventBusArn"]
    stack.physical_ids[logical_id] = name
    stack.attributes[logical_id] = {"Arn": arn, "Name": name}


def _create_rule(session: Any, stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    props = stack.resolve(props)
    name = props.get("Name") or f"{stack.prefix}-{logical_id}"[:64]
    bus = props.get("EventBusName", "default")
    params: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
    if "EventPattern" in props:
        pattern = props["EventPattern"]
        params["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    for key in ("ScheduleExpression", "Description", "RoleArn"):
        if key in props:
            params[key] = props[key]
    events = session.client("events")
    arn = events.put_rule(**params)["RuleArn"]
    if props.get("Targets"):
        failed = events.put_targets(Rule=name, EventBusName=bus, Targets=props["Targets"])
        if failed.get("FailedEntryCount"):
            raise RuntimeError(f"{logical_id}: targets refused: {failed['FailedEntries']}")
    stack.physical_ids[logical_id] = name
    stack.attributes[logical_id] = {"Arn": arn}


def _create_email_identity(session: Any, stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    """An SES sender; moto counts it verified at once (AWS waits for its owner to confirm)."""
    identity = stack.resolve(props)["EmailIdentity"]
    ses = session.client("ses")
    if "@" in identity:
        ses.verify_email_identity(EmailAddress=identity)
    else:
        ses.verify_domain_identity(Domain=identity)
    stack.physical_ids[logical_id] = identity


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
