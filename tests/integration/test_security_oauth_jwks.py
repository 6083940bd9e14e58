"""SASL/OAUTHBEARER with signed tokens (Kafka's OAuthBearerValidatorCallbackHandler): the
broker checks tokens against the keys a local identity provider publishes (JWKS over HTTP);
confluent-kafka gets its tokens from that provider (OIDC client credentials)."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("jwt")

from confluent_kafka import KafkaError, Producer  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from kio.schema.errors import ErrorCode  # noqa: E402

from odradek.security.jwks import JwksValidator  # noqa: E402
from tests.integration.test_security_oauthbearer import authenticate  # noqa: E402
from tests.integration.test_security_sasl import produce_consume_confluent  # noqa: E402
from tests.support.idp import AUDIENCE, ISSUER, IdentityProvider  # noqa: E402
from tests.support.oauth import first_message  # noqa: E402

HANDLER = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"


@pytest.fixture(scope="module")
def idp():
    provider = IdentityProvider({"alice": "alice-client-secret", "bob": "bob-client-secret"})
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def jwks_broker(idp, tmp_path_factory):
    from odradek import Broker

    prefix = "listener.name.sasl_plaintext.oauthbearer."
    config = {"listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
              "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "OAUTHBEARER",
              prefix + "sasl.server.callback.handler.class": HANDLER,
              "sasl.oauthbearer.jwks.endpoint.url": f"{idp.url}/jwks",
              "sasl.oauthbearer.expected.audience": AUDIENCE,
              "sasl.oauthbearer.expected.issuer": ISSUER,
              "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
              "super.users": "User:alice;User:ANONYMOUS",
              "group.initial.rebalance.delay.ms": 0}
    with Broker(data_dir=tmp_path_factory.mktemp("jwks"), config=config) as b:
        yield b


def oidc_conf(broker, idp, client: str, secret: str) -> dict:
    return {"bootstrap.servers": broker.bootstrap("SASL_PLAINTEXT"),
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
            "sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.client.id": client,
            "sasl.oauthbearer.client.secret": secret,
            "sasl.oauthbearer.token.endpoint.url": f"{idp.url}/token"}


def test_confluent_kafka_with_tokens_from_the_identity_provider(jwks_broker, idp, topic_name):
    jwks_broker.create_topic(topic_name)
    alice = oidc_conf(jwks_broker, idp, "alice", "alice-client-secret")
    assert produce_consume_confluent(alice, topic_name, 3) == [b"m0", b"m1", b"m2"]
    # bob's token is good, and makes him bob: no ACL lets him write.
    reports = []
    p = Producer({**oidc_conf(jwks_broker, idp, "bob", "bob-client-secret"),
                  "on_delivery": lambda err, msg: reports.append(err)})
    p.produce(topic_name, b"no")
    p.flush(30)
    assert [e.code() for e in reports] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]


@pytest.mark.parametrize("make_token", [
    lambda idp: idp.token("alice", key=rsa.generate_private_key(
        public_exponent=65537, key_size=2048)),  # signed by a key the provider never published
    lambda idp: idp.token("alice", aud="another-service"),
    lambda idp: idp.token("alice", iss="someone-else"),
    lambda idp: idp.token("alice", exp=int(time.time()) - 3600),  # expired (past the skew)
    lambda idp: idp.token("alice", iat=None),  # without iat, which Kafka requires
    lambda idp: _with_kid(idp.token("alice"), "key-404"),  # names a key that does not exist
], ids=["foreign-key", "audience", "issuer", "expired", "no-iat", "unknown-kid"])
def test_tokens_that_do_not_validate(jwks_broker, idp, make_token):
    client, r = authenticate(jwks_broker, first_message(make_token(idp)))
    assert r.error_code == ErrorCode.none
    assert json.loads(bytes(r.auth_bytes)) == {"status": "invalid_token"}


def _with_kid(token: str, kid: str) -> str:
    """The same token with another kid in its header (its signature no longer matters: the
    broker must not find a key)."""
    import base64

    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    data["kid"] = kid
    encoded = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{encoded}.{payload}.{signature}"


def test_a_key_added_by_the_provider_is_fetched_soon(idp, tmp_path, monkeypatch):
    """Key rotation: a token signed with a key the broker has not fetched yet fails, and
    makes the broker fetch the key set again soon; the next attempt passes."""
    monkeypatch.setattr(JwksValidator, "EXPEDITE_AFTER_S", 0.2)
    validator = JwksValidator(f"{idp.url}/jwks", audience=(AUDIENCE,), issuer=ISSUER)
    validator.start()
    try:
        assert validator.validate(idp.token("carol")) == "carol"
        new_kid = idp.add_key()
        token = idp.token("carol", kid=new_kid)
        time.sleep(0.3)  # past the minimum time between two fetches
        fetches = idp.jwks_requests
        with pytest.raises(Exception, match="no key"):
            validator.validate(token)
        deadline = time.monotonic() + 10
        while idp.jwks_requests == fetches:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while True:  # the fetch has been asked for; wait until its keys are in use
            try:
                assert validator.validate(token) == "carol"
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        validator.stop()


def test_a_jwks_file(idp, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(idp.jwks()))
    validator = JwksValidator(jwks.as_uri(), audience=(AUDIENCE,), issuer=ISSUER)
    validator.start()
    try:
        assert validator.validate(idp.token("dave")) == "dave"
    finally:
        validator.stop()


@pytest.mark.parametrize("config, message", [
    ({}, "needs sasl.oauthbearer.jwks.endpoint.url"),
    ({"sasl.oauthbearer.jwks.endpoint.url": "ftp://example/jwks"}, "https:, http: or file:"),
])
def test_bad_validator_configs_stop_the_broker(tmp_path, config, message):
    from odradek import Broker

    full = {"listeners": "SASL_PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms": "OAUTHBEARER",
            "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class":
                HANDLER, **config}
    with pytest.raises(RuntimeError) as exc:
        Broker(data_dir=tmp_path, config=full).start()
    assert message in str(exc.value.__cause__)


def test_the_cli_gets_its_token_from_the_identity_provider(jwks_broker, idp, topic_name,
                                                           capsys, monkeypatch, tmp_path):
    from tests.support.cli import run_cli

    base = ["-b", jwks_broker.bootstrap("SASL_PLAINTEXT"), "-X",
            "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=OAUTHBEARER",
            "-X", f"sasl.oauthbearer.token.endpoint.url={idp.url}/token"]
    alice = [*base, "-X", "sasl.oauthbearer.method=oidc", "-X", "sasl.oauthbearer.client.id=alice",
             "-X", "sasl.oauthbearer.client.secret=alice-client-secret"]
    assert run_cli(capsys, "topic", "create", topic_name, *alice).code == 0
    r = run_cli(capsys, "produce", topic_name, *alice, stdin=b"signed\n", monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    # The Java client's way: the JAAS module's clientId / clientSecret.
    properties = tmp_path / "client.properties"
    properties.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n"
        f"sasl.oauthbearer.token.endpoint.url={idp.url}/token\n"
        "sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer."
        "OAuthBearerLoginCallbackHandler\n"
        "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
        ' required clientId="alice" clientSecret="alice-client-secret";\n')
    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "-e", "-b",
                jwks_broker.bootstrap("SASL_PLAINTEXT"), "--command-config", str(properties))
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["signed"]
    r = run_cli(capsys, "cluster", "info", "--timeout", "10", *base,
                "-X", "sasl.oauthbearer.client.id=alice",
                "-X", "sasl.oauthbearer.client.secret=not-the-secret-5c1")
    assert r.code == 1 and "HTTP 401" in r.err and "not-the-secret-5c1" not in r.err
