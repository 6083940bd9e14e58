"""OAUTHBEARER with signed tokens: Kafka's OAuthBearerValidatorCallbackHandler.

JWTs are checked against the keys an identity provider publishes (a JWKS), with PyJWT
(`pip install 'odradek[oauth]'`). Kafka's configs: sasl.oauthbearer.jwks.endpoint.url (https:,
http: or file:), sasl.oauthbearer.jwks.endpoint.refresh.ms (1 h),
sasl.oauthbearer.expected.audience, sasl.oauthbearer.expected.issuer,
sasl.oauthbearer.sub.claim.name (`sub`) and sasl.oauthbearer.clock.skew.seconds (30). `exp`
and `iat` are required; `alg` "none" and HMAC are refused. The key set is fetched at start and
then by a background thread (every refresh.ms, and soon after a token names a key it does not
know), never while a client waits: as in Kafka, a token signed with a key not fetched yet
fails and the client's retry passes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request

from .errors import SecurityConfigError
from .oauthbearer import InvalidToken

log = logging.getLogger("odradek.security")


_ALGORITHMS_BY_KEY_TYPE = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC": ("ES256", "ES384", "ES512"),
    "OKP": ("EdDSA",),
}


class JwksValidator:
    """Kafka's OAuthBearerValidatorCallbackHandler: signed JWTs and a refreshed JWKS."""

    # Soonest refresh after a token names an unknown key (Kafka's retry backoff max, 10 s).
    EXPEDITE_AFTER_S = 10.0

    def __init__(self, url: str, refresh_ms: int = 3_600_000, audience: tuple[str, ...] = (),
                 issuer: str | None = None, principal_claim: str = "sub",
                 clock_skew_s: int = 30) -> None:
        try:
            import jwt  # noqa: F401  (PyJWT; an optional dependency)
        except ImportError:
            raise SecurityConfigError("OAUTHBEARER with sasl.oauthbearer.jwks.endpoint.url "
                                      "needs PyJWT: pip install 'odradek[oauth]'") from None
        self.url = url
        self.refresh_s = max(refresh_ms, 1000) / 1000
        self.audience = audience
        self.issuer = issuer
        self.principal_claim = principal_claim
        self.clock_skew_s = clock_skew_s
        # kid -> (PyJWK, its "alg" or None, its "kty"); replaced whole on each refresh
        self._keys: dict[str | None, tuple] = {}
        self._fetched_at = 0.0
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    @classmethod
    def from_configs(cls, get) -> JwksValidator:
        """From Kafka's sasl.oauthbearer.* configs (`get(name)`: value or None)."""
        url = (get("sasl.oauthbearer.jwks.endpoint.url") or "").strip()
        if not url:
            raise SecurityConfigError("OAuthBearerValidatorCallbackHandler needs "
                                      "sasl.oauthbearer.jwks.endpoint.url")
        if not url.startswith(("https:", "http:", "file:")):
            raise SecurityConfigError(f"sasl.oauthbearer.jwks.endpoint.url={url}: expected an "
                                      "https:, http: or file: URL")

        def number(name: str, default: int) -> int:
            try:
                return int(get(name) or default)
            except ValueError:
                raise SecurityConfigError(f"{name} must be a whole number") from None

        audience = tuple(a.strip() for a in (get("sasl.oauthbearer.expected.audience") or "")
                         .split(",") if a.strip())
        return cls(url, number("sasl.oauthbearer.jwks.endpoint.refresh.ms", 3_600_000),
                   audience, (get("sasl.oauthbearer.expected.issuer") or "").strip() or None,
                   (get("sasl.oauthbearer.sub.claim.name") or "sub").strip() or "sub",
                   number("sasl.oauthbearer.clock.skew.seconds", 30))

    # ---------------------------------------------------------------- the key set

    def start(self) -> None:
        """Fetch the key set once (a failure is logged; refreshes go on trying) and start
        the background refresh."""
        self._refresh()
        self._thread = threading.Thread(target=self._run, name="odradek-jwks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            # Without keys, try again soon; else at the refresh interval or when woken.
            self._wake.wait(self.EXPEDITE_AFTER_S if not self._keys else self.refresh_s)
            if self._stopped:
                return
            self._wake.clear()
            self._refresh()

    def _refresh(self) -> None:
        from jwt import PyJWK, PyJWTError

        try:
            with urllib.request.urlopen(self.url, timeout=10) as response:  # noqa: S310
                data = json.loads(response.read())
            entries = data["keys"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cannot fetch the JWKS from %s: %s", self.url, exc)
            return
        keys = {}
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = PyJWK(entry)
            except PyJWTError:  # a key type this library cannot use: skipped, as jose4j does
                continue
            keys[entry.get("kid")] = (key, entry.get("alg"), entry.get("kty"))
        if not keys:
            log.warning("the JWKS from %s has no signing key this broker can use", self.url)
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _key_for(self, kid: str | None):
        keys = self._keys
        key = keys.get(kid)
        if key is None and kid is None and len(keys) == 1:
            key = next(iter(keys.values()))  # a token without kid, a set of one key
        if key is None and time.monotonic() - self._fetched_at >= self.EXPEDITE_AFTER_S:
            self._wake.set()  # a key the provider may have added since: fetch soon
        return key

    # ---------------------------------------------------------------- tokens

    def validate(self, token: str) -> str:
        """The token's principal name, or InvalidToken."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("invalid_token", "not a JWS compact serialization") from None
        algorithm = header.get("alg")
        found = self._key_for(header.get("kid"))
        if found is None:
            raise InvalidToken("invalid_token", f"no key {header.get('kid')!r} in the JWKS")
        key, key_alg, key_type = found
        # The key's own "alg" if it names one, else any signature algorithm of its type;
        # never "none" or an HMAC (a public key used as a shared secret).
        if not (algorithm == key_alg if key_alg
                else algorithm in _ALGORITHMS_BY_KEY_TYPE.get(key_type, ())):
            raise InvalidToken("invalid_token", f"algorithm {algorithm!r} not allowed")
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[algorithm], audience=list(self.audience) or None,
                issuer=self.issuer, leeway=self.clock_skew_s,
                options={"require": ["exp", "iat"], "verify_aud": bool(self.audience)})
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid_token", str(exc)) from None
        principal = claims.get(self.principal_claim)
        if not isinstance(principal, str) or not principal.strip():
            raise InvalidToken("invalid_token",
                               f"the {self.principal_claim} claim is missing or empty")
        return principal
