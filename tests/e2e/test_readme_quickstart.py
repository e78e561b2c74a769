"""README's quickstart block, run verbatim with bash against a fresh `make run` server."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import ROOT, LocalServer, get_token

MARKER = "<!-- quickstart: tests/e2e/test_readme_quickstart.py runs this block as written -->"


def quickstart_block() -> str:
    """The ```bash block right after the marker line."""
    readme = (ROOT / "README.md").read_text()
    assert MARKER in readme, "README.md lost the quickstart marker"
    after = readme.split(MARKER, 1)[1]
    found = re.match(r"\s*```bash\n(.*?)\n```", after, re.DOTALL)
    assert found, "no ```bash block right after the quickstart marker"
    return found.group(1)


def json_documents(text: str) -> list[dict[str, Any]]:
    """The JSON replies curl -s printed back to back (no newline between them)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


def test_quickstart_block_is_there_and_uses_the_printed_variables() -> None:
    block = quickstart_block()
    for name in ("$BASE", "$CLIENT_ID", "$CLIENT_SECRET"):
        assert name in block


def test_readme_quickstart_runs_as_written(start_server: Callable[..., LocalServer], tmp_path: Path) -> None:
    # Given a fresh server (the block registers john.doe@example.com) and the variables its banner exports
    server = start_server()
    assert (
        f"export BASE={server.base_url} CLIENT_ID={server.demo_client_id} "
        f"CLIENT_SECRET={server.demo_client_secret}"
    ) in server.stdout()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BASE": server.base_url,
        "CLIENT_ID": server.demo_client_id,
        "CLIENT_SECRET": server.demo_client_secret,
    }

    # When the README block runs as written
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + quickstart_block()],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then it succeeds and every step reports success
    assert done.returncode == 0, (done.stdout, done.stderr, server.output())
    for message in (
        "Client registered successfully.",
        "Clients retrieved successfully.",
        "Client retrieved successfully.",
        "Client updated successfully.",
        "Client removed successfully.",
    ):
        assert message in done.stdout, done.stdout
    assert '"success":false' not in done.stdout.replace(" ", "")
    # and the server holds what the block did: John Doe renamed, tagged and removed
    token = get_token(server.base_url, server.demo_client_id, server.demo_client_secret)
    listed = requests.get(
        server.url("/partner/v1/clients"),
        params={"status": "deleted"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["data"]["clients"]
    assert [(c["name"], c["email"], c["status"], c["metadata"]) for c in listed] == [
        ("Jane Doe", "john.doe@example.com", "deleted", {"crm_id": "42"})
    ]
    # and the block's replies, in order, were register, list, get, update, remove, then the grouping
    replies = json_documents(done.stdout)
    assert [r["message"] for r in replies] == [
        "Client registered successfully.",
        "Clients retrieved successfully.",
        "Client retrieved successfully.",
        "Client updated successfully.",
        "Client removed successfully.",
        "Partner created successfully.",
        "Client registered successfully.",
        "Account retrieved successfully.",
        "Client report retrieved successfully.",
    ]
    assert replies[4]["data"]["clientId"] == listed[0]["clientId"]
    sub_partner, account_client, account, report = (r["data"] for r in replies[5:])
    assert sub_partner["reference"] == "acme-west"
    assert sub_partner["parent"]["partnerId"] == report["partners"][0]["partnerId"]
    assert account_client["accountId"] == account["accountId"]
    assert (account["name"], account["usage"]) == ("AcmeRetail", {"SEATS": 1})
    assert [p["name"] for p in report["partners"]][1:] == ["Acme West"]
    assert report["partners"][0]["counts"] == {"active": 1, "inactive": 0, "suspended": 0, "deleted": 1}
