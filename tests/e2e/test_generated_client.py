"""The committed OpenAPI document is good enough for a client generator, and the client works.

``openapi-python-client`` (pinned in requirements-dev.txt) turns docs/openapi.json into a typed
Python package in a temporary directory. The test imports that package and, through its
``AuthenticatedClient`` and the operation modules named after the document's ``operationId``s,
registers and lists clients on the session's ``make run`` server, asserting on the parsed models
(not on raw JSON): what a partner's developer would do with the published document.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ISO_MS_Z, ROOT, UUID_RE, LocalServer, unique_email

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
DOCUMENT = ROOT / "docs" / "openapi.json"
# A distinctive top-level name, so the import cannot clash with anything else on sys.path.
PACKAGE = "partner_api_generated_client"
GENERATE_SECONDS = 180
# The operations this test calls, as (METHOD, path) of the document.
USED_OPERATIONS = {
    ("POST", "/partner/v1/clients"),
    ("GET", "/partner/v1/clients"),
    ("GET", "/partner/v1/clients/{clientId}"),
}

WARNED_OPERATION = re.compile(r"^WARNING parsing (?P<method>[A-Z]+) (?P<path>\S+) within", re.MULTILINE)
# "Unable to parse schema /components/schemas/X", "Unable to process schema /components/schemas/X:",
# "Unable to parse parameter /components/parameters/X" (openapi_python_client/parser/properties/).
WARNED_COMPONENT = re.compile(
    r"^\s*Unable to (?:parse|process) (?:schema|parameter) (?P<pointer>/components/[^\s:]+)", re.MULTILINE
)


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The node a local ``$ref`` (``#/a/b``) points at."""
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def components_used_by(document: dict[str, Any], node: Any, seen: set[str] | None = None) -> set[str]:
    """Every ``/components/...`` pointer reachable from ``node`` through ``$ref``s."""
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.removeprefix("#") not in seen:
            seen.add(ref.removeprefix("#"))
            components_used_by(document, resolve(document, ref), seen)
        for value in node.values():
            components_used_by(document, value, seen)
    elif isinstance(node, list):
        for value in node:
            components_used_by(document, value, seen)
    return {pointer for pointer in seen if pointer.startswith("/components/")}


def run_generator(output: Path) -> str:
    """``openapi-python-client generate`` on the committed document; returns what it printed."""
    assert GENERATOR.exists(), f"{GENERATOR} missing: install requirements-dev.txt"
    # The generator formats its output with `ruff` found on PATH (a post-generation hook); the
    # venv's pinned ruff is the one to use, and without it the hook is skipped with a warning.
    env = {**os.environ, "PATH": os.pathsep.join([str(GENERATOR.parent), os.environ.get("PATH", "")])}
    command = [
        str(GENERATOR),
        "generate",
        "--path",
        str(DOCUMENT),
        "--output-path",
        str(output),
        "--meta",
        "none",
    ]
    done = subprocess.run(
        command,
        cwd=output.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=GENERATE_SECONDS,
        check=False,
    )
    printed = f"$ {' '.join(command)}\n--- stdout ---\n{done.stdout}--- stderr ---\n{done.stderr}"
    print(printed)  # shown with -s, or when the test fails
    if done.stderr.strip():
        # Warnings about parts of the document this test does not use do not fail it, but they
        # are reported in pytest's warnings summary of every run.
        warnings.warn(f"openapi-python-client: {done.stderr.strip()}", UserWarning, stacklevel=1)
    assert done.returncode == 0, f"the generator refused the document\n{printed}"
    assert (output / "__init__.py").is_file(), printed
    return done.stdout + "\n" + done.stderr


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The generated package's modules this test uses, imported from a temporary directory."""
    document = json.loads(DOCUMENT.read_text())
    parent = tmp_path_factory.mktemp("generated-client")
    printed = run_generator(parent / PACKAGE)

    used_components: set[str] = set()
    for method, path in USED_OPERATIONS:
        used_components |= components_used_by(document, document["paths"][path][method.lower()])
    assert {"/components/schemas/ClientCreate", "/components/schemas/Error"} <= used_components
    warned_operations = {(m["method"], m["path"]) for m in WARNED_OPERATION.finditer(printed)}
    warned_components = {m["pointer"] for m in WARNED_COMPONENT.finditer(printed)}
    assert not warned_operations & USED_OPERATIONS, (
        f"the generator could not handle operations this test uses: {warned_operations & USED_OPERATIONS}"
        f"\n{printed}"
    )
    assert not warned_components & used_components, (
        f"the generator could not handle parts of these operations: {warned_components & used_components}"
        f"\n{printed}"
    )

    sys.path.insert(0, str(parent))
    try:

        def module(name: str) -> Any:
            return importlib.import_module(f"{PACKAGE}.{name}")

        yield SimpleNamespace(
            AuthenticatedClient=module("client").AuthenticatedClient,
            UNSET=module("types").UNSET,
            models=module("models"),
            register_client=module("api.clients.register_client"),
            list_clients=module("api.clients.list_clients"),
            get_client=module("api.clients.get_client"),
        )
    finally:
        sys.path.remove(str(parent))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def api(generated: SimpleNamespace, server: LocalServer, token: str) -> Iterator[Any]:
    """The generated ``AuthenticatedClient`` for the demo partner; undocumented statuses raise."""
    with generated.AuthenticatedClient(
        base_url=server.base_url,
        token=token,
        timeout=httpx.Timeout(15.0),
        raise_on_unexpected_status=True,
    ) as client:
        yield client


def assert_documented_client(gen: SimpleNamespace, client: Any, email: str) -> None:
    """A parsed ``Client`` model with the contract's field types and nothing undocumented."""
    models = gen.models
    assert isinstance(client, models.Client), type(client)
    assert UUID_RE.match(client.client_id), client.client_id
    assert client.email == email
    assert client.status is models.ClientStatus.ACTIVE
    assert UUID_RE.match(client.partner_id), client.partner_id
    assert ISO_MS_Z.match(client.registered_at) and ISO_MS_Z.match(client.updated_at), client
    # Every field on the wire is declared in the document's `Client` schema.
    assert client.additional_properties == {}, client.additional_properties


def test_generated_client_registers_lists_and_reports_errors(generated: SimpleNamespace, api: Any) -> None:
    gen = generated
    models = gen.models
    stem = f"gen{uuid.uuid4().hex[:10]}"
    first_email, second_email = unique_email(stem), unique_email(stem)

    # Register with sync_detailed: status, headers and the typed 201 envelope.
    metadata = models.ClientCreateMetadataType0.from_dict({"source": "openapi-python-client"})
    body = models.ClientCreate(email=first_email, first_name="Gene", last_name="Rated", metadata=metadata)
    reply = gen.register_client.sync_detailed(client=api, body=body)
    assert reply.status_code == HTTPStatus.CREATED, reply.content
    assert reply.headers["x-request-id"] and reply.headers["etag"], reply.headers
    created = reply.parsed
    assert isinstance(created, models.RegisterClientResponse201), reply.content
    assert created.success is True
    assert created.message == "Client registered successfully."
    first = created.data
    assert_documented_client(gen, first, first_email)
    assert (first.name, first.first_name, first.last_name) == ("Gene Rated", "Gene", "Rated")
    assert isinstance(first.metadata, models.ClientMetadata)
    assert first.metadata.additional_properties == {"source": "openapi-python-client"}

    # Register with sync: the parsed model straight away.
    second_reply = gen.register_client.sync(
        client=api, body=models.ClientCreate(email=second_email, name="Two")
    )
    assert isinstance(second_reply, models.RegisterClientResponse201), second_reply
    second = second_reply.data
    assert_documented_client(gen, second, second_email)
    assert second.name == "Two"
    assert second.first_name is gen.UNSET and second.metadata is gen.UNSET  # omitted when unset

    # The client reads back by the id the typed response gave.
    fetched = gen.get_client.sync(client=api, client_id=first.client_id)
    assert isinstance(fetched, models.GetClientResponse200), fetched
    assert fetched.data.client_id == first.client_id and fetched.data.email == first_email

    # List one per page, filtered to this test's two clients, following nextCursor.
    pages: list[Any] = []
    cursor: Any = gen.UNSET
    while len(pages) < 5:
        page = gen.list_clients.sync_detailed(client=api, limit=1, q=stem, cursor=cursor)
        assert page.status_code == HTTPStatus.OK, page.content
        assert isinstance(page.parsed, models.ListClientsResponse200), page.content
        assert page.parsed.message == "Clients retrieved successfully."
        pages.append(page.parsed.data)
        if not page.parsed.data.pagination.has_more:
            break
        cursor = page.parsed.data.pagination.next_cursor
        assert isinstance(cursor, str) and cursor, page.parsed.data.pagination
    assert len(pages) == 2, pages
    for page_data in pages:
        assert isinstance(page_data, models.ClientList)
        assert isinstance(page_data.pagination, models.Pagination)
        assert (page_data.pagination.limit, page_data.pagination.total) == (1, 2), page_data.pagination
        assert len(page_data.clients) == 1
    assert pages[-1].pagination.next_cursor is gen.UNSET  # nextCursor present iff hasMore
    listed = [page_data.clients[0] for page_data in pages]
    assert [c.client_id for c in listed] == [first.client_id, second.client_id]  # oldest first
    for listed_client, email in zip(listed, [first_email, second_email], strict=True):
        assert_documented_client(gen, listed_client, email)

    # A plain `limit` listing (no filter) finds the new client too, typed the same way.
    everything = gen.list_clients.sync(client=api, limit=100)
    assert isinstance(everything, models.ListClientsResponse200), everything
    assert everything.data.pagination.limit == 100
    assert everything.data.pagination.total >= 2
    seen_ids = {c.client_id for c in everything.data.clients}
    walked = 1
    while second.client_id not in seen_ids and everything.data.pagination.has_more and walked < 50:
        everything = gen.list_clients.sync(
            client=api, limit=100, cursor=everything.data.pagination.next_cursor
        )
        assert isinstance(everything, models.ListClientsResponse200), everything
        seen_ids |= {c.client_id for c in everything.data.clients}
        walked += 1
    assert {first.client_id, second.client_id} <= seen_ids

    # Typed errors: the same email again is a 409 with the parsed `Error` envelope.
    conflict = gen.register_client.sync_detailed(
        client=api, body=models.ClientCreate(email=first_email, name="Again")
    )
    assert conflict.status_code == HTTPStatus.CONFLICT, conflict.content
    error = conflict.parsed
    assert isinstance(error, models.Error), conflict.content
    assert error.success is False
    assert error.code == "CLIENT_ALREADY_EXISTS"
    assert isinstance(error.message, str) and error.message
    assert error.request_id == conflict.headers["x-request-id"]

    # ... and a validation error carries typed `details`.
    invalid = gen.register_client.sync_detailed(
        client=api, body=models.ClientCreate(email="not-an-email", name="Invalid")
    )
    assert invalid.status_code == HTTPStatus.BAD_REQUEST, invalid.content
    assert isinstance(invalid.parsed, models.Error), invalid.content
    assert invalid.parsed.code == "INVALID_PARAMETER"
    assert [(d.field, type(d)) for d in invalid.parsed.details] == [("email", models.ErrorDetailsItem)]
