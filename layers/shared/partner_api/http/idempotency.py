"""``Idempotency-Key`` on POST routes (API.md section 1), with Powertools' idempotency utility.

The key is scoped to the calling credential and kept 24 hours; the method, path and body must match.
A replay returns the first response (status, body, headers) marked ``Idempotent-Replayed``.
Failed requests are not kept, so retrying them runs them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response

from partner_api.errors import FieldIssue, IdempotencyKeyInUse, IdempotencyKeyReused, InvalidInput
from partner_api.store.idempotency import persistence_layer

KEEP_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


def once(
    scope: str, key: str, request: bytes, context: Any, execute: Callable[[], Response[str]]
) -> Response[str]:
    """Run ``execute`` at most once per (``scope``, ``key``); later calls get its response again.

    ``request`` is what a retry must repeat: the method, the path and the body. The same key on
    another route is a reuse (422), as Stripe's is, not a replay of another route's answer."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            "The Idempotency-Key header is invalid.",
            details=[FieldIssue("Idempotency-Key", "1 to 255 printable characters")],
        )
    replayed = False

    def mark_replay(response: Any, _record: Any) -> Any:
        nonlocal replayed
        replayed = True
        return response

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=KEEP_SECONDS,
        response_hook=mark_replay,  # type: ignore[arg-type]  # a protocol pydantic-free callables satisfy
    )
    if hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)  # an in-progress mark expires with the invocation
    store = persistence_layer()

    @idempotent_function(data_keyword_argument="request", persistence_store=store, config=config)  # type: ignore[untyped-decorator]
    def run(request: dict[str, str]) -> dict[str, Any]:
        response = execute()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "x-request-id"}
        return {"status": response.status_code, "body": response.body, "headers": headers}

    try:
        first = run(request={"key": f"{scope}#{key}", "body": hashlib.sha256(request).hexdigest()})
    except IdempotencyAlreadyInProgressError as exc:
        raise IdempotencyKeyInUse() from exc
    except IdempotencyValidationError as exc:
        raise IdempotencyKeyReused() from exc
    headers = dict(first["headers"])
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        status_code=first["status"], content_type="application/json", body=first["body"], headers=headers
    )
