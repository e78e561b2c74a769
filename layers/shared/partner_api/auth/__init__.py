"""Authentication: credential secrets, token signing and verification, the caller's identity."""
