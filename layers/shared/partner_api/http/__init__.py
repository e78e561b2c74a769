"""The HTTP edge: the resolver each function uses, request parsing, the envelope, error mapping."""

from partner_api.http.api import Api, Call

__all__ = ["Api", "Call"]
