"""README's DPoP example, run verbatim with the project's Python against a fresh `make run`."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import ROOT, LocalServer

MARKER = "<!-- dpop: tests/e2e/test_readme_dpop.py runs this block as written -->"


def dpop_block() -> str:
    """The ```python block right after the marker line."""
    readme = (ROOT / "README.md").read_text()
    assert MARKER in readme, "README.md lost the DPoP example's marker"
    found = re.match(r"\s*```python\n(.*?)\n```", readme.split(MARKER, 1)[1], re.DOTALL)
    assert found, "no ```python block right after the DPoP marker"
    return found.group(1)


def test_readme_dpop_example_runs_as_written(
    start_server: Callable[..., LocalServer], tmp_path: Path
) -> None:
    # Given a fresh server and the variables its banner exports
    server = start_server()
    script = tmp_path / "dpop_example.py"
    script.write_text(dpop_block())
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BASE": server.base_url,
        "CLIENT_ID": server.demo_client_id,
        "CLIENT_SECRET": server.demo_client_secret,
    }

    # When the example runs as written
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)

    # Then it got a DPoP-bound token and listed the clients with it
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["DPoP", "200", "0"], done.stdout
