"""Where SAM CLI's local API Gateway routes differently from API Gateway in a way the API depends
on, and the patch that closes it. ``apply()`` installs it, once per process.

As API Gateway behaves -> what SAM CLI 1.170.0 does -> what closes it:

- A REST API resource's explicit methods take precedence over its ``ANY`` method, which catches
  only the methods the resource does not declare
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-any-method.html;
  the template's ``MethodNotAllowedFunction`` relies on it) -> ``ANY`` becomes all seven methods
  and, for each path and method, the route read last wins (``SamApiProvider.merge_routes``, then
  ``LocalApigwService.create`` over a set): an ``ANY`` event declared after a path's explicit routes
  takes all their requests, one declared before takes them or not depending on hash order
  (aws/aws-sam-cli#1064) -> ``_explicit_methods_win``: before the merge, an ``ANY`` route keeps
  only the methods its path does not declare.

- A text body (no binary media type) reaches Lambda as a string even when its bytes are not
  valid UTF-8, and the function answers it (here: 400 INVALID_JSON) -> SAM decodes the body as
  strict UTF-8 and answers such a request 502 without calling the function -> ``_text_body``:
  bytes that are not UTF-8 are decoded with replacement characters, as API Gateway hands them on.

tests/unit/test_local_apigw.py fails without them.
"""

from __future__ import annotations

from typing import Any

from samcli.lib.providers.sam_api_provider import SamApiProvider
from samcli.local.apigw.route import Route

_PATCHED = "_partner_api_explicit_methods_win"


def apply() -> None:
    """Make SAM's API provider give explicit methods precedence over ``ANY``, and its event
    constructor take any text body (idempotent)."""
    _text_bodies_reach_the_function()
    merge = SamApiProvider.merge_routes
    if getattr(merge, _PATCHED, False):
        return

    def merge_routes(collector: Any) -> list[Route]:
        _explicit_methods_win(collector)
        return merge(collector)

    setattr(merge_routes, _PATCHED, True)
    SamApiProvider.merge_routes = staticmethod(merge_routes)  # type: ignore[method-assign]


def _explicit_methods_win(collector: Any) -> None:
    """Narrow each API's ``ANY`` routes to the methods no explicit route of their path declares."""
    for _api, routes in collector:
        declared: dict[tuple[str, str], set[str]] = {}
        for route in routes:
            if not _is_any(route):
                declared.setdefault((route.stack_path, route.path), set()).update(route.methods)
        for route in routes:
            if _is_any(route):
                taken = declared.get((route.stack_path, route.path), set())
                route.methods = [m for m in route.methods if m not in taken]
        routes[:] = [route for route in routes if route.methods]


def _is_any(route: Route) -> bool:
    # SAM has already expanded ANY into every method it serves.
    return set(Route.ANY_HTTP_METHODS) <= set(route.methods)


def _text_bodies_reach_the_function() -> None:
    from samcli.local.apigw import local_apigw_service

    construct = local_apigw_service.construct_v1_event
    if getattr(construct, _PATCHED, False):
        return

    def construct_v1_event(flask_request: Any, *args: Any, **kwargs: Any) -> Any:
        _text_body(flask_request)
        return construct(flask_request, *args, **kwargs)

    setattr(construct_v1_event, _PATCHED, True)
    local_apigw_service.construct_v1_event = construct_v1_event


def _text_body(flask_request: Any) -> None:
    """Replace a body that is not UTF-8 by its decoding with U+FFFD for each bad byte."""
    data = flask_request.get_data()  # werkzeug caches it; the constructor reads the cache
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        flask_request._cached_data = data.decode("utf-8", "replace").encode("utf-8")
