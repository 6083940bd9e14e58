"""SASL/OAUTHBEARER with Kafka's default validator (unsecured JWTs): confluent-kafka's own
unsecured tokens, the principal and scope taken from the token, and bad tokens answered on
the wire as Kafka answers them (a JSON challenge, then SASL_AUTHENTICATION_FAILED). The
challenges and messages were compared with Apache Kafka 4.4 on the same requests."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import KafkaError, Producer
from kio.schema.errors import ErrorCode

from tests.integration.test_security_sasl import (
    produce_consume_confluent,
    send_only,
    wire_request,
)
from tests.support.oauth import first_message, jwt
from tests.support.wire import WireClient

JAAS = ("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
        'unsecuredLoginStringClaim_sub="broker" unsecuredValidatorRequiredScope="kafka";')


@pytest.fixture(scope="module")
def oauth_broker(tmp_path_factory):
    from odradek import Broker

    config = {"listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
              "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "OAUTHBEARER,PLAIN",
              "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": JAAS,
              "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
              "super.users": "User:admin;User:ANONYMOUS",
              "group.initial.rebalance.delay.ms": 0}
    with Broker(data_dir=tmp_path_factory.mktemp("oauth"), config=config) as b:
        yield b


def confluent_conf(broker, oauthbearer_config: str) -> dict:
    return {"bootstrap.servers": broker.bootstrap("SASL_PLAINTEXT"),
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
            "enable.sasl.oauthbearer.unsecure.jwt": True,
            "sasl.oauthbearer.config": oauthbearer_config}


def test_the_principal_is_the_tokens_subject(oauth_broker, topic_name):
    oauth_broker.create_topic(topic_name)
    admin = confluent_conf(oauth_broker, "principal=admin scope=kafka")
    assert produce_consume_confluent(admin, topic_name, 3) == [b"m0", b"m1", b"m2"]
    # alice authenticates, but as alice: no ACL lets her write.
    reports = []
    p = Producer({**confluent_conf(oauth_broker, "principal=alice scope=kafka"),
                  "on_delivery": lambda err, msg: reports.append(err)})
    p.produce(topic_name, b"no")
    p.flush(30)
    assert [e.code() for e in reports] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]


def test_a_token_without_the_required_scope_is_refused(oauth_broker):
    errors: list[KafkaError] = []
    p = Producer({**confluent_conf(oauth_broker, "principal=admin scope=other"),
                  "error_cb": errors.append})
    deadline = time.monotonic() + 30
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        assert time.monotonic() < deadline, errors
        p.poll(0.2)
    assert "insufficient_scope" in str([e.str() for e in errors])


def authenticate(broker, message: bytes):
    client = WireClient(broker.bootstrap("SASL_PLAINTEXT"))
    assert wire_request(client, 17, 1, mechanism="OAUTHBEARER").error_code == ErrorCode.none
    return client, wire_request(client, 36, 2, auth_bytes=message)


NOW = int(time.time())
# Made at collection time: a day of validity outlasts any run of the suite.
GOOD = {"sub": "admin", "scope": ["kafka", "other"], "iat": NOW - 10, "exp": NOW + 86400}


@pytest.mark.parametrize("token, status", [
    (jwt({"alg": "HS256"}, GOOD, "c2lnbmF0dXJl"), "invalid_token"),  # signed: not unsecured
    (jwt({"alg": "none"}, {**GOOD, "exp": NOW - 60}), "invalid_token"),  # expired
    (jwt({"alg": "none"}, {k: v for k, v in GOOD.items() if k != "sub"}), "invalid_token"),
    (jwt({"alg": "none"}, {**GOOD, "scope": "other"}), "insufficient_scope"),
    # A string claim is one scope, as in Kafka: "kafka other" is not "kafka".
    (jwt({"alg": "none"}, {**GOOD, "scope": "kafka other"}), "insufficient_scope"),
    ("bm90.a.jwt", "invalid_token"),
])
def test_bad_tokens_get_kafkas_challenge_then_fail(oauth_broker, token, status):
    client, r = authenticate(oauth_broker, first_message(token))
    assert r.error_code == ErrorCode.none
    challenge = json.loads(bytes(r.auth_bytes))
    assert challenge["status"] == status
    if status == "insufficient_scope":
        assert challenge["scope"] == "[kafka]"  # Kafka's wording: the scopes as a Java list
    r = wire_request(client, 36, 2, auth_bytes=b"\x01")  # the client's acknowledgement
    assert r.error_code == ErrorCode.sasl_authentication_failed
    assert json.loads(r.error_message) == challenge
    send_only(client, 3, 1, topics=None)  # closed at its next request, as after any failure
    assert client.is_closed()


def test_a_good_token_and_the_authorization_id(oauth_broker):
    token = jwt({"alg": "none"}, GOOD)
    client, r = authenticate(oauth_broker, first_message(token, authzid="admin"))
    assert r.error_code == ErrorCode.none and bytes(r.auth_bytes) == b""
    assert wire_request(client, 3, 12, topics=[], allow_auto_topic_creation=False,
                        include_topic_authorized_operations=False).brokers
    client, r = authenticate(oauth_broker, first_message(token, authzid="someone-else"))
    assert r.error_code == ErrorCode.sasl_authentication_failed
    assert "different from the token's principal name" in r.error_message
    client, r = authenticate(oauth_broker, b"n,,\x01auth=Basic abc\x01\x01")
    assert r.error_code == ErrorCode.sasl_authentication_failed


def test_a_validator_it_does_not_have_is_refused_at_start(tmp_path):
    from odradek import Broker

    config = {"listeners": "SASL_PLAINTEXT://127.0.0.1:0",
              "sasl.enabled.mechanisms": "OAUTHBEARER",
              "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class":
                  "com.example.MyValidatorCallbackHandler"}
    with pytest.raises(RuntimeError) as exc:
        Broker(data_dir=tmp_path, config=config).start()
    assert "not supported" in str(exc.value.__cause__)


def test_aiokafka_with_its_own_token_provider(oauth_broker, topic_name):
    """aiokafka sends the token a provider gives it: here an unsecured JWT made by the test."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.abc import AbstractTokenProvider

    class Provider(AbstractTokenProvider):
        async def token(self) -> str:
            now = int(time.time())
            return jwt({"alg": "none"}, {"sub": "admin", "scope": "kafka", "iat": now,
                                         "exp": now + 600})

    conf = {"bootstrap_servers": oauth_broker.bootstrap("SASL_PLAINTEXT"),
            "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "OAUTHBEARER",
            "sasl_oauth_token_provider": Provider()}

    async def main() -> list[bytes]:
        producer = AIOKafkaProducer(**conf)
        await producer.start()
        try:
            await producer.send_and_wait(topic_name, b"via aiokafka")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic_name, auto_offset_reset="earliest", **conf)
        await consumer.start()
        try:
            message = await asyncio.wait_for(consumer.getone(), 30)
        finally:
            await consumer.stop()
        return [message.value]

    oauth_broker.create_topic(topic_name)
    assert asyncio.run(main()) == [b"via aiokafka"]


def test_the_cli_with_an_unsecured_token(oauth_broker, topic_name, capsys, monkeypatch,
                                         tmp_path):
    """odradek's own commands: librdkafka's sasl.oauthbearer.config, or a Java client's
    properties file with the OAuthBearerLoginModule."""
    from tests.support.cli import run_cli

    base = ["-b", oauth_broker.bootstrap("SASL_PLAINTEXT"), "-X",
            "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=OAUTHBEARER"]
    admin = [*base, "-X", "sasl.oauthbearer.config=principal=admin scope=kafka"]
    assert run_cli(capsys, "topic", "create", topic_name, *admin).code == 0
    r = run_cli(capsys, "produce", topic_name, *admin, stdin=b"by token\n",
                monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    properties = tmp_path / "client.properties"
    properties.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n"
        "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
        ' required unsecuredLoginStringClaim_sub="admin" unsecuredLoginListClaim_scope=",kafka";\n')
    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "-e", "-b",
                oauth_broker.bootstrap("SASL_PLAINTEXT"), "--command-config", str(properties))
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["by token"]
    # Without the scope the broker requires: refused, with the broker's reason.
    r = run_cli(capsys, "cluster", "info", "--timeout", "10", *base,
                "-X", "sasl.oauthbearer.config=principal=admin")
    assert r.code == 1 and "insufficient_scope" in r.err
    r = run_cli(capsys, "cluster", "info", "--timeout", "10", *base)
    assert r.code == 1 and "OAUTHBEARER needs a token endpoint" in r.err
