"""A small OAuth identity provider for the tests: signs JWTs with its RSA keys, publishes them
as a JWKS (GET /jwks) and hands out tokens for the client-credentials grant (POST /token),
which is what librdkafka's `sasl.oauthbearer.method=oidc` asks for."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "odradek-test-idp"
AUDIENCE = "kafka"


class IdentityProvider:
    def __init__(self, clients: dict[str, str]) -> None:
        self.clients = clients  # client id -> secret
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current_kid = self.add_key()
        self.jwks_requests = 0
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                idp.jwks_requests += 1
                self._json(200, idp.jwks())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = urllib.parse.parse_qs(body)
                client_id, secret = _basic_auth(self.headers.get("Authorization", ""))
                if self.path != "/token" or form.get("grant_type") != ["client_credentials"]:
                    self._json(400, {"error": "invalid_request"})
                elif idp.clients.get(client_id) != secret:
                    self._json(401, {"error": "invalid_client"})
                else:
                    self._json(200, {"access_token": idp.token(client_id),
                                     "token_type": "bearer", "expires_in": 3600})

            def _json(self, status: int, value: dict) -> None:
                data = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_key(self) -> str:
        kid = f"key-{len(self.keys) + 1}"
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def jwks(self) -> dict:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def token(self, subject: str, kid: str | None = None, key=None, **claims) -> str:
        now = int(time.time())
        payload = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                   "exp": now + 3600, **claims}
        payload = {k: v for k, v in payload.items() if v is not None}  # None: leave it out
        kid = kid or self.current_kid
        return jwt.encode(payload, key or self.keys[kid], algorithm="RS256",
                          headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _basic_auth(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return urllib.parse.unquote(user), urllib.parse.unquote(password)
