"""SCIM 2.0 (RFC 7643 / RFC 7644): a directory provisions a partner's clients as Users.

The protocol pieces (filters, PATCH, the User mapping) know nothing of HTTP; ``http.scim``
serves them.
"""
