"""Unsecured JWTs and OAUTHBEARER client messages, made by hand for the tests."""

from __future__ import annotations

import base64
import json


def jwt(header: dict, claims: dict, signature: str = "") -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}.{signature}"


def first_message(token: str, authzid: str = "") -> bytes:
    """RFC 7628's client initial response carrying `token`."""
    return f"n,{'a=' + authzid if authzid else ''},\x01auth=Bearer {token}\x01\x01".encode()
