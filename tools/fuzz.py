"""schemathesis against the local run, driven by the published document (``make fuzz``).

    python tools/fuzz.py                       # start the local run, fuzz it with a random seed
    python tools/fuzz.py --seed 1 -n 20        # reproducible, shorter
    python tools/fuzz.py --url http://127.0.0.1:3000 --client-id ... --client-secret ... \\
        --operator-client-id ... --operator-client-secret ...   # a run that is already up

The checks and the tokens per operation are in ``schemathesis.toml``: ``/admin`` runs with the
operator's token, ``/scim`` with the token of a directory of a root partner made for the run,
everything else with a partner token. The run fails on any failure.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "schemathesis.toml"
STARTUP_SECONDS = 90


def token(base_url: str, client_id: str, client_secret: str) -> str:
    reply = requests.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
        timeout=30,
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def directory_token(base_url: str, operator_token: str) -> str:
    """The SCIM token of a directory of a root partner made for the run: the fuzzed partner can
    neither see nor rotate it, so the SCIM operations keep a working token to the end."""
    reply = requests.post(
        f"{base_url}/admin/v1/partners",
        json={"name": "Fuzz Directory Owner"},
        headers={"Authorization": f"Bearer {operator_token}"},
        timeout=30,
    )
    reply.raise_for_status()
    credential = reply.json()["data"]["credential"]
    owner = token(base_url, credential["clientId"], credential["clientSecret"])
    reply = requests.post(
        f"{base_url}/partner/v1/directories",
        json={"name": "fuzz"},
        headers={"Authorization": f"Bearer {owner}"},
        timeout=30,
    )
    reply.raise_for_status()
    return str(reply.json()["data"]["token"])


def fuzz(
    base_url: str,
    partner_token: str,
    operator_token: str,
    *,
    seed: int,
    max_examples: int,
    report_dir: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """One schemathesis run (all phases: examples, coverage, fuzzing, stateful); its output."""
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--url",
        base_url,
        "--seed",
        str(seed),
        "--max-examples",
        str(max_examples),
        "--workers",
        "2",
        "--no-color",
    ]
    if report_dir is not None:
        command += ["--report", "junit", "--report-dir", str(report_dir)]
    env = {
        **os.environ,
        "FUZZ_PARTNER_TOKEN": partner_token,
        "FUZZ_OPERATOR_TOKEN": operator_token,
        "FUZZ_DIRECTORY_TOKEN": directory_token(base_url, operator_token),
    }
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)


@contextmanager
def local_run() -> Iterator[tuple[str, tuple[str, str], tuple[str, str]]]:
    """``make run`` on a free port with fresh credentials: (base URL, partner, operator)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    partner = (str(uuid.uuid4()), secrets.token_urlsafe(32))
    operator = (str(uuid.uuid4()), secrets.token_urlsafe(32))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PARTNER_API_", "AWS_"))},
        "PORT": str(port),
        "PARTNER_API_DEMO_CLIENT_ID": partner[0],
        "PARTNER_API_DEMO_CLIENT_SECRET": partner[1],
        "PARTNER_API_OPERATOR_CLIENT_ID": operator[0],
        "PARTNER_API_OPERATOR_CLIENT_SECRET": operator[1],
    }
    log = tempfile.NamedTemporaryFile(prefix="fuzz-local-run-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "local.run"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise SystemExit(f"local.run exited with {process.returncode}; its output is in {log.name}")
            try:
                if requests.get(f"{base_url}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("local.run did not start")
            time.sleep(0.3)
        yield base_url, partner, operator
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument("-n", "--max-examples", type=int, default=200)
    parser.add_argument("--url", help="a local run that is already up (else one is started)")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    parser.add_argument("--operator-client-id")
    parser.add_argument("--operator-client-secret")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)

    def run(base_url: str, partner: tuple[str, str], operator: tuple[str, str]) -> int:
        done = fuzz(
            base_url,
            token(base_url, *partner),
            token(base_url, *operator),
            seed=seed,
            max_examples=args.max_examples,
        )
        print(done.stdout, done.stderr, sep="\n")
        return done.returncode

    if args.url:
        return run(
            args.url.rstrip("/"),
            (args.client_id, args.client_secret),
            (args.operator_client_id, args.operator_client_secret),
        )
    with local_run() as (base_url, partner, operator):
        return run(base_url, partner, operator)


if __name__ == "__main__":
    raise SystemExit(main())
