"""Root partners, as the operator manages them: each is a tenant with its first credential."""

from __future__ import annotations

from typing import Any

from partner_api.auth.principal import PARTNER_SCOPES
from partner_api.auth.secrets import burn_time, hash_secret, new_secret, verify_secret
from partner_api.config import settings
from partner_api.errors import FieldIssue, PartnerAlreadyExists, PartnerNotFound, PreconditionFailed
from partner_api.ids import new_id, now_iso
from partner_api.logic.pages import Page
from partner_api.logic.versions import require_match
from partner_api.models.partners import PartnerListQuery, PartnerPatch, RootPartnerCreate
from partner_api.store import credentials, keys, pages, partners
from partner_api.store.dynamo import TransactionConflict, batch_get, transact, update
from partner_api.store.events import Actor, diff, event_about, event_put

AUDITED_FIELDS = ("name", "reference", "billingId", "status", "domains", "contact", "hasVerificationPhrase")
_ROOTS_COUNTER = partners.ROOTS_COUNTER


def new_record(
    body: RootPartnerCreate, *, parent_path: list[str], tenant_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A new partner's record below ``parent_path`` (none: a root, its own tenant), and the
    welcome email its contact asked for, if any (sent by the pipeline, never stored)."""
    fields = body.given()
    status = body.wanted_status() or "active"
    for derived in ("active", "parent"):
        fields.pop(derived, None)
    phrase = fields.pop("verificationPhrase", None)
    contact, welcome = _contact(fields.pop("contact", None))
    partner_id = new_id()
    now = now_iso()
    path = [*parent_path, partner_id]
    record = {
        **fields,
        "partnerId": partner_id,
        "tenantId": tenant_id or partner_id,
        "reference": fields.get("reference") or partner_id,
        "status": status,
        "path": path,
        "depth": len(path) - 1,
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    }
    if contact:
        record["contact"] = contact
    if phrase:
        record["verificationPhraseHash"] = hash_secret(phrase)
    return record, _welcome(record) if welcome else None


def created_event(record: dict[str, Any], actor: Actor, welcome: dict[str, Any] | None) -> dict[str, Any]:
    return event_about(
        "partner",
        record,
        actor=actor,
        event_type="partner.created",
        path_field="path",
        changes=diff({}, _audited(record), AUDITED_FIELDS),
        occurred_at=record["createdAt"],
        notify=welcome,
    )


def create_root(
    actor: Actor, body: RootPartnerCreate, *, client_id: str | None = None, secret: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A root partner (a new tenant) and its first credential holding every partner scope.
    Returns the partner record and the credential (with its secret, shown only now).
    ``client_id``/``secret`` fix the credential's values (a local run's demo partner)."""
    record, welcome = new_record(body, parent_path=[])
    partner_id, status, now = record["partnerId"], record["status"], record["createdAt"]
    secret = secret or new_secret()
    client_id, scopes = client_id or new_id(), list(PARTNER_SCOPES)
    credential = {"clientId": client_id, "clientSecret": secret, "scopes": scopes}
    operations = [
        partners.reference_put(partner_id, record["reference"], partner_id),
        partners.partner_put(record, create=True),
        partners.counts_put(partner_id, record["path"]),
        update(
            settings().tenants_table,
            _ROOTS_COUNTER,
            "ADD #s :one",
            names={"#s": f"count_{status}"},
            values={":one": 1},
        ),
        credentials.credential_put(
            client_id=client_id,
            secret_hash=hash_secret(secret),
            scopes=scopes,
            token_use="partner",
            created_at=now,
            tenant_id=partner_id,
            partner_path=[partner_id],
            name="initial credential",
        ),
        created_event(record, actor, welcome),
        event_put(
            tenant_id=partner_id,
            event_type="credential.created",
            partner_id=partner_id,
            partner_path=[partner_id],
            actor=actor,
            resource_type="credential",
            resource_id=client_id,
            changes={"scopes": {"from": None, "to": scopes}},
            occurred_at=now,
        ),
    ]
    transact(operations)  # a fresh tenant's reference cannot collide
    return record, credential


def get_root(partner_id: str) -> dict[str, Any]:
    record = partners.find(partner_id, partner_id)
    if record is None or record.get("depth") != 0:
        raise PartnerNotFound()
    return partners.record_of(record)


def patched(before: dict[str, Any], body: PartnerPatch) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The record after a PATCH (same record when nothing changes), and the welcome email a
    newly given contact asked for."""
    changes = body.given()
    status = body.wanted_status()
    changes.pop("active", None)
    changes.pop("status", None)
    after = dict(before)
    for required in ("name", "reference"):
        if required in changes and changes[required] is None:
            changes.pop(required)
    welcome = False
    if "contact" in changes:
        changes["contact"], welcome = _contact(changes["contact"])
    if "verificationPhrase" in changes:
        phrase = changes.pop("verificationPhrase")
        changes["verificationPhraseHash"] = hash_secret(phrase) if phrase else None
    for name, value in changes.items():
        if value is None:
            after.pop(name, None)
        else:
            after[name] = value
    if status:
        after["status"] = status
    if after != before:
        after["updatedAt"] = now_iso()
        after["version"] = before["version"] + 1
    return after, _welcome(after) if welcome else None


def save_change(
    actor: Actor,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    event_type: str = "partner.updated",
    extra: list[dict[str, Any]] | None = None,
    welcome: dict[str, Any] | None = None,
) -> None:
    """Write a changed partner with its reference move, ``extra`` transaction items and event.
    A stale version -> 412; a taken reference -> 409; ``extra`` items' failures re-raise."""
    tenant_id, partner_id = after["tenantId"], after["partnerId"]
    operations: list[dict[str, Any]] = [partners.partner_put(after, expected_version=before["version"])]
    reference_index = None
    if after["status"] == "deleted":  # a removed partner's reference is free again
        operations.append(partners.reference_delete(tenant_id, before["reference"], partner_id))
    elif after["reference"].lower() != before["reference"].lower():
        reference_index = len(operations)
        operations.append(partners.reference_put(tenant_id, after["reference"], partner_id))
        operations.append(partners.reference_delete(tenant_id, before["reference"], partner_id))
    operations += extra or []
    operations.append(
        event_about(
            "partner",
            after,
            actor=actor,
            event_type=event_type,
            path_field="path",
            changes=diff(_audited(before), _audited(after), AUDITED_FIELDS),
            occurred_at=after["updatedAt"],
            notify=welcome,
        )
    )
    try:
        transact(operations)
    except TransactionConflict as conflict:
        if conflict.failed(0):
            raise PreconditionFailed() from conflict
        if reference_index is not None and conflict.failed(reference_index):
            raise PartnerAlreadyExists(details=[FieldIssue("reference", "already used")]) from conflict
        raise


def update_root(actor: Actor, partner_id: str, body: PartnerPatch, if_match: str | None) -> dict[str, Any]:
    before = get_root(partner_id)
    require_match(if_match, partner_id, before["version"])
    after, welcome = patched(before, body)
    if after == before:
        return before
    extra = []
    if after["status"] != before["status"]:
        extra.append(
            update(
                settings().tenants_table,
                _ROOTS_COUNTER,
                "ADD #old :minus, #new :one",
                names={"#old": f"count_{before['status']}", "#new": f"count_{after['status']}"},
                values={":minus": -1, ":one": 1},
            )
        )
    save_change(actor, before, after, extra=extra, welcome=welcome)
    return after


def list_roots(query: PartnerListQuery) -> Page:
    clauses: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, str] = {}
    if query.status:
        clauses.append("#status = :status")
        names["#status"], values[":status"] = "status", query.status
    else:
        clauses.append("#status <> :deleted")
        names["#status"], values[":deleted"] = "status", "deleted"
    if query.q:
        clauses.append("contains(#search, :q)")
        names["#search"], values[":q"] = "search", query.q.lower()
    spec = pages.IndexQuery(
        table=settings().tenants_table,
        index="ListIndex",
        partition_attr="listPK",
        partition_value=keys.ROOT_PARTNERS,
        key_attrs=("PK", "SK", "listPK", "listSK"),
        filter_expression=" AND ".join(clauses),
        filter_names=names,
        filter_values=values,
        scope="|".join(["roots", *(f"{k}={v}" for k, v in sorted(values.items()))]),
    )
    page = pages.read_keys(spec, limit=query.limit, offset=query.offset, cursor=query.cursor)
    table = settings().tenants_table
    wanted = [{"PK": e["PK"], "SK": e["SK"]} for e in page.keys]
    if not query.q:
        wanted.append(_ROOTS_COUNTER)
    found = batch_get({table: wanted})[table]
    by_key = {(i["PK"], i["SK"]): i for i in found}
    records = [
        partners.record_of(by_key[(e["PK"], e["SK"])]) for e in page.keys if (e["PK"], e["SK"]) in by_key
    ]
    if query.q:
        total = pages.count(spec)
    else:
        counter = by_key.get((_ROOTS_COUNTER["PK"], _ROOTS_COUNTER["SK"]), {})
        statuses = (query.status,) if query.status else ("active", "inactive", "suspended")
        total = sum(int(counter.get(f"count_{s}", 0)) for s in statuses)
    return Page(
        records, query.limit, 0 if query.cursor else query.offset, total, page.has_more, page.next_cursor
    )


def _audited(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "hasVerificationPhrase": bool(record.get("verificationPhraseHash"))}


def _contact(contact: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
    """The contact as stored (``active`` made explicit) and whether it asked for a welcome email."""
    if not contact:
        return None, False
    stored = {k: v for k, v in contact.items() if k != "sendWelcomeEmail" and v is not None}
    stored.setdefault("active", True)
    return stored, bool(contact.get("sendWelcomeEmail"))


def _welcome(record: dict[str, Any]) -> dict[str, Any]:
    """What the welcome email needs, carried on the event to the pipeline that sends it."""
    contact = record["contact"]
    return {
        "welcomeEmail": {
            "to": contact["email"],
            "firstName": contact["firstName"],
            "partnerName": record["name"],
            "partnerId": record["partnerId"],
        }
    }


def phrase_matches(partner_id: str, phrase: str) -> bool:
    """Whether ``phrase`` is the partner's verification phrase (constant-time; false when unset)."""
    record = get_root(partner_id)
    stored = record.get("verificationPhraseHash")
    if not stored:
        burn_time()  # an unset phrase takes as long to refuse as a wrong one
        return False
    return verify_secret(phrase, stored)
