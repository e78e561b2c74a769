"""``ScimApi``: the resolver of the ``/scim/v2`` functions. Routes as ``Api`` declares them, but
authenticated by a directory token, answered as ``application/scim+json``, and every error in
SCIM's own body (``http.errors.scim_error``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response

from partner_api.errors import DomainError, NotFound
from partner_api.http import errors
from partner_api.http.api import SCIM_MEDIA_TYPE, Api, View
from partner_api.logs import logger


class ScimApi(Api):
    error_media_type = SCIM_MEDIA_TYPE

    def route(  # type: ignore[override]
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Any = None,
        response: Any = None,
        status: int | tuple[int, ...] = 200,
        errors: tuple[int, ...] = (),
        if_match: bool = False,
    ) -> Callable[[View], View]:
        """A SCIM route: ``body`` documents the resource the request sends (the SCIM mapping
        judges it), the rest as for ``Api.route``."""
        return super().route(
            method,
            path,
            scope=None,
            auth="directory",
            body=body,
            query=query,
            response=response,
            status=status,
            errors=errors,
            if_match=if_match,
            media_type=SCIM_MEDIA_TYPE,
        )

    def _on_error(self, exc: Exception) -> Response[str]:
        if isinstance(exc, DomainError):
            status, body, headers = errors.scim_error(exc)
            if status >= 500:
                logger.warning("dependency unavailable", exc_info=exc)
            return self._respond(status, body, headers)
        logger.exception("unexpected error")
        status, body = errors.scim_unexpected()
        return self._respond(status, body, {})

    def _on_not_found(self, _exc: Exception) -> Response[str]:
        status, body, headers = errors.scim_error(NotFound("No such SCIM endpoint."))
        return self._respond(status, body, headers)
