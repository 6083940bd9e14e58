"""SASL/SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka implements them.

The broker never stores a password: a credential is (salt, iterations, StoredKey, ServerKey),
where SaltedPassword = PBKDF2-HMAC(password, salt, iterations), ClientKey = HMAC(SaltedPassword,
"Client Key"), StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key").
AlterUserScramCredentials even sends the salted password, never the password itself.

The exchange (client-first, server-first, client-final, server-final):

    n,,n=alice,r=<client nonce>
    r=<client nonce><server nonce>,s=<base64 salt>,i=4096
    c=biws,r=<both nonces>,p=<base64 ClientProof>
    v=<base64 ServerSignature>

The server checks H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .errors import SaslAuthenticationError


@dataclass(frozen=True)
class ScramMechanism:
    name: str
    hash_name: str
    type_id: int  # AlterUserScramCredentials / DescribeUserScramCredentials `mechanism`
    min_iterations: int = 4096

    def hash(self, data: bytes) -> bytes:
        return hashlib.new(self.hash_name, data).digest()

    def hmac(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, self.hash_name).digest()


SCRAM_SHA_256 = ScramMechanism("SCRAM-SHA-256", "sha256", 1)
SCRAM_SHA_512 = ScramMechanism("SCRAM-SHA-512", "sha512", 2)
MECHANISMS = {m.name: m for m in (SCRAM_SHA_256, SCRAM_SHA_512)}
MECHANISMS_BY_TYPE = {m.type_id: m for m in (SCRAM_SHA_256, SCRAM_SHA_512)}
MAX_ITERATIONS = 16384
DEFAULT_ITERATIONS = 4096


@dataclass(frozen=True)
class ScramCredential:
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int

    def __repr__(self) -> str:  # never print key material
        return f"ScramCredential(iterations={self.iterations})"


def salted_password(mechanism: ScramMechanism, password: str | bytes, salt: bytes,
                    iterations: int) -> bytes:
    if isinstance(password, str):
        password = password.encode()
    return hashlib.pbkdf2_hmac(mechanism.hash_name, password, salt, iterations)


def credential_from_salted_password(mechanism: ScramMechanism, salted: bytes, salt: bytes,
                                    iterations: int) -> ScramCredential:
    client_key = mechanism.hmac(salted, b"Client Key")
    return ScramCredential(salt, mechanism.hash(client_key),
                           mechanism.hmac(salted, b"Server Key"), iterations)


def new_credential(mechanism: ScramMechanism, password: str | bytes,
                   iterations: int = DEFAULT_ITERATIONS,
                   salt: bytes | None = None) -> ScramCredential:
    salt = salt if salt is not None else secrets.token_bytes(32)
    return credential_from_salted_password(
        mechanism, salted_password(mechanism, password, salt, iterations), salt, iterations)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise SaslAuthenticationError("Invalid SCRAM message: bad base64") from None


def _sasl_name(name: str) -> str:
    """RFC 5802 saslname decoding: =2C is ',', =3D is '='."""
    return name.replace("=2C", ",").replace("=3D", "=")


def _attributes(message: str) -> list[tuple[str, str]]:
    out = []
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise SaslAuthenticationError("Invalid SCRAM message")
        out.append((key, value))
    return out


GENERIC_FAILURE = ("Authentication failed during authentication due to invalid credentials "
                   "with SASL mechanism {}")


class ScramServer:
    """One SCRAM exchange on the broker side: `evaluate(client token) -> server token`.

    `lookup(username)` returns the user's ScramCredential for this mechanism, or None."""

    def __init__(self, mechanism: ScramMechanism,
                 lookup: Callable[[str], ScramCredential | None],
                 nonce: str | None = None) -> None:
        self.mechanism = mechanism
        self.lookup = lookup
        self.server_nonce = nonce or secrets.token_urlsafe(24)
        self.username: str | None = None
        self.complete = False
        self._step = 0
        self._credential: ScramCredential | None = None
        self._client_first_bare = ""
        self._server_first = ""
        self._gs2_header = ""
        self._nonce = ""

    def _fail(self, reason: str) -> SaslAuthenticationError:
        """What the client is told is generic; `reason` is for the broker's log."""
        self._credential = None
        self._step = -1
        return SaslAuthenticationError(GENERIC_FAILURE.format(self.mechanism.name), reason)

    def evaluate(self, token: bytes) -> bytes:
        try:
            message = bytes(token).decode("utf-8")
        except UnicodeDecodeError:
            raise self._fail("SCRAM message is not UTF-8") from None
        if self._step == 0:
            return self._client_first(message)
        if self._step == 1:
            return self._client_final(message)
        raise self._fail("unexpected SCRAM message after the exchange ended")

    def _client_first(self, message: str) -> bytes:
        # gs2-header: "n," or "y," (no channel binding), optional "a=authzid", then ","
        flag, sep, rest = message.partition(",")
        authzid, sep2, bare = rest.partition(",")
        if not sep or not sep2 or flag not in ("n", "y"):
            raise self._fail("unsupported or malformed GS2 header (channel binding?)")
        if authzid and not authzid.startswith("a="):
            raise self._fail("malformed GS2 header")
        attrs = _attributes(bare)
        if len(attrs) < 2 or attrs[0][0] != "n" or attrs[1][0] != "r" or not attrs[1][1]:
            raise self._fail("malformed client-first message")
        username = _sasl_name(attrs[0][1])
        extensions = dict(attrs[2:])
        if extensions.get("t") is not None or "tokenauth" in bare:
            raise self._fail("delegation tokens are not supported")
        if authzid and _sasl_name(authzid[2:]) != username:
            raise self._fail("authorization id differs from the user name")
        self.username = username
        credential = self.lookup(username)
        if credential is None:
            raise self._fail(f"no {self.mechanism.name} credential for user {username!r}")
        if credential.iterations < self.mechanism.min_iterations:
            raise self._fail("credential has too few iterations")
        self._credential = credential
        self._gs2_header = f"{flag},{authzid},"
        self._client_first_bare = bare
        self._nonce = attrs[1][1] + self.server_nonce
        self._server_first = (f"r={self._nonce},s={_b64(credential.salt)},"
                              f"i={credential.iterations}")
        self._step = 1
        return self._server_first.encode()

    def _client_final(self, message: str) -> bytes:
        without_proof, sep, proof_text = message.rpartition(",p=")
        if not sep:
            raise self._fail("client-final message without proof")
        attrs = dict(_attributes(without_proof))
        if attrs.get("r") != self._nonce:
            raise self._fail("invalid nonce in the client-final message")
        if _unb64(attrs.get("c", "")) != self._gs2_header.encode():
            raise self._fail("channel binding does not match the GS2 header")
        proof = _unb64(proof_text)
        mech, cred = self.mechanism, self._credential
        auth_message = ",".join((self._client_first_bare, self._server_first,
                                 without_proof)).encode()
        signature = mech.hmac(cred.stored_key, auth_message)
        if len(proof) != len(signature):
            raise self._fail("invalid client proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(mech.hash(client_key), cred.stored_key):
            raise self._fail("invalid client proof (wrong password)")
        server_signature = mech.hmac(cred.server_key, auth_message)
        self._credential = None
        self._step = 2
        self.complete = True
        return f"v={_b64(server_signature)}".encode()


class ScramClient:
    """The client side (tests, the odradek client): first() -> final(server_first) ->
    verify(server_final)."""

    def __init__(self, mechanism: ScramMechanism, username: str, password: str,
                 nonce: str | None = None) -> None:
        self.mechanism = mechanism
        self.username = username
        self.password = password
        self.nonce = nonce or secrets.token_urlsafe(24)
        self._bare = ""
        self._server_signature = b""

    def first(self) -> bytes:
        name = self.username.replace("=", "=3D").replace(",", "=2C")
        self._bare = f"n={name},r={self.nonce}"
        return f"n,,{self._bare}".encode()

    def final(self, server_first: bytes) -> bytes:
        text = bytes(server_first).decode()
        attrs = dict(_attributes(text))
        nonce, salt, iterations = attrs["r"], _unb64(attrs["s"]), int(attrs["i"])
        if not nonce.startswith(self.nonce):
            raise SaslAuthenticationError("server nonce does not extend the client nonce")
        mech = self.mechanism
        salted = salted_password(mech, self.password, salt, iterations)
        client_key = mech.hmac(salted, b"Client Key")
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self._bare},{text},{without_proof}".encode()
        signature = mech.hmac(mech.hash(client_key), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._server_signature = mech.hmac(mech.hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={_b64(proof)}".encode()

    def verify(self, server_final: bytes) -> None:
        attrs = dict(_attributes(bytes(server_final).decode()))
        if "e" in attrs:
            raise SaslAuthenticationError(f"SCRAM authentication failed: {attrs['e']}")
        if not hmac.compare_digest(_unb64(attrs.get("v", "")), self._server_signature):
            raise SaslAuthenticationError("invalid server signature")


class ScramCredentials:
    """Every user's SCRAM credentials, cached in memory and persisted in the metadata store
    (`scram_credentials()`, `set_scram_credential(...)`, `delete_scram_credential(...)`)."""

    def __init__(self, store=None) -> None:
        self.store = store
        self._creds: dict[tuple[str, str], ScramCredential] = (
            dict(store.scram_credentials()) if store is not None else {})

    def get(self, user: str, mechanism: str) -> ScramCredential | None:
        return self._creds.get((user, mechanism))

    def users(self) -> dict[str, dict[str, ScramCredential]]:
        out: dict[str, dict[str, ScramCredential]] = {}
        for (user, mech), cred in sorted(self._creds.items()):
            out.setdefault(user, {})[mech] = cred
        return out

    def set(self, user: str, mechanism: str, credential: ScramCredential) -> None:
        if self.store is not None:
            self.store.set_scram_credential(user, mechanism, credential)
        self._creds[(user, mechanism)] = credential

    def set_password(self, user: str, mechanism: str, password: str,
                     iterations: int = DEFAULT_ITERATIONS) -> None:
        self.set(user, mechanism, new_credential(MECHANISMS[mechanism], password, iterations))

    def delete(self, user: str, mechanism: str) -> bool:
        if (user, mechanism) not in self._creds:
            return False
        if self.store is not None:
            self.store.delete_scram_credential(user, mechanism)
        del self._creds[(user, mechanism)]
        return True
