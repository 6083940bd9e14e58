"""SASL/PLAIN and SASL/SCRAM-SHA-256/512 with confluent-kafka and kafka-python; SCRAM users
managed with AlterUserScramCredentials / DescribeUserScramCredentials; the SASL state machine
on the wire (raw frames); secrets never in the broker's log."""

from __future__ import annotations

import logging
import struct
import time

import kafka
import kafka.errors
import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kio.schema.errors import ErrorCode

from tests.support.wire import WireClient, request_class

PLAIN_USERS = {"alice": "alice-secret-1f9", "admin": "admin-secret-7c2"}
JAAS = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
        + " ".join(f'user_{u}="{p}"' for u, p in PLAIN_USERS.items()) + ";")
SCRAM_PASSWORD = "scram-secret-4d1"
SECRETS = [*PLAIN_USERS.values(), SCRAM_PASSWORD, "wrong-password-9e7", "admin-set-pw-b55"]


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory):
    from odradek import Broker

    config = {"listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
              "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
              "group.initial.rebalance.delay.ms": 0}
    with Broker(data_dir=tmp_path_factory.mktemp("sasl"), config=config) as b:
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
            b.set_scram_credential("bob", SCRAM_PASSWORD, mechanism)
        yield b


@pytest.fixture(autouse=True)
def debug_logs(caplog):
    """Every test runs with the broker logging at DEBUG; none may log a secret."""
    caplog.set_level(logging.DEBUG, logger="odradek")
    yield
    for secret in SECRETS:
        assert secret not in caplog.text


def confluent_conf(broker, mechanism, user, password) -> dict:
    return {"bootstrap.servers": broker.bootstrap("SASL_PLAINTEXT"),
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password}


def kafka_python_conf(broker, mechanism, user, password) -> dict:
    return {"bootstrap_servers": broker.bootstrap("SASL_PLAINTEXT"),
            "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism,
            "sasl_plain_username": user, "sasl_plain_password": password}


def produce_consume_confluent(conf: dict, topic: str, n: int = 5) -> list[bytes]:
    p = Producer(conf)
    for i in range(n):
        p.produce(topic, f"m{i}".encode())
    assert p.flush(30) == 0
    c = Consumer({**conf, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(1)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    return got


CASES = [("PLAIN", "alice", PLAIN_USERS["alice"]), ("SCRAM-SHA-256", "bob", SCRAM_PASSWORD),
         ("SCRAM-SHA-512", "bob", SCRAM_PASSWORD)]


@pytest.mark.parametrize("mechanism,user,password", CASES)
def test_confluent_kafka(sasl_broker, topic_name, mechanism, user, password):
    conf = confluent_conf(sasl_broker, mechanism, user, password)
    assert produce_consume_confluent(conf, topic_name) == [f"m{i}".encode() for i in range(5)]


@pytest.mark.parametrize("mechanism,user,password", CASES)
def test_kafka_python(sasl_broker, topic_name, mechanism, user, password):
    conf = kafka_python_conf(sasl_broker, mechanism, user, password)
    producer = kafka.KafkaProducer(**conf)
    for i in range(3):
        producer.send(topic_name, f"k{i}".encode()).get(timeout=30)
    producer.close()
    consumer = kafka.KafkaConsumer(topic_name, group_id=f"g-{topic_name}",
                                   auto_offset_reset="earliest", consumer_timeout_ms=10000,
                                   **conf)
    got = [m.value for _, m in zip(range(3), consumer, strict=False)]
    consumer.close()
    assert got == [b"k0", b"k1", b"k2"]


def wait_for_auth_error(conf: dict) -> KafkaError:
    errors: list[KafkaError] = []
    p = Producer({**conf, "error_cb": errors.append})
    deadline = time.monotonic() + 30
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        assert time.monotonic() < deadline, errors
        p.poll(0.2)
    return next(e for e in errors if e.code() == KafkaError._AUTHENTICATION)


@pytest.mark.parametrize("mechanism,user", [("PLAIN", "alice"), ("SCRAM-SHA-256", "bob"),
                                            ("SCRAM-SHA-512", "bob"), ("PLAIN", "mallory"),
                                            ("SCRAM-SHA-256", "mallory")])
def test_wrong_password_is_an_authentication_failure(sasl_broker, caplog, mechanism, user,
                                                     topic_name):
    error = wait_for_auth_error(confluent_conf(sasl_broker, mechanism, user,
                                               "wrong-password-9e7"))
    assert "Authentication failed" in error.str()
    assert "failed authentication" in caplog.text
    # The broker carries on: a client with the right password still works.
    ok = CASES[0] if mechanism == "PLAIN" else CASES[1]
    assert produce_consume_confluent(confluent_conf(sasl_broker, *ok), topic_name, 1)


def test_kafka_python_wrong_password(sasl_broker):
    with pytest.raises(kafka.errors.KafkaError):
        kafka.KafkaAdminClient(bootstrap_timeout_ms=3000, **kafka_python_conf(
            sasl_broker, "SCRAM-SHA-512", "bob", "wrong-password-9e7"))


def test_mechanism_not_enabled_on_the_listener(make_broker):
    b = make_broker(config={"listeners": "SASL_PLAINTEXT://127.0.0.1:0", "sasl.jaas.config": JAAS,
                            "sasl.enabled.mechanisms": "SCRAM-SHA-512"})
    error = wait_for_auth_error(confluent_conf(b, "PLAIN", "alice", PLAIN_USERS["alice"]))
    assert "PLAIN" in error.str() and "SCRAM-SHA-512" in error.str()


def test_metadata_advertises_the_listener_of_the_request(sasl_broker, topic_name):
    plain_port = sasl_broker.listener_port("PLAINTEXT")
    sasl_port = sasl_broker.listener_port("SASL_PLAINTEXT")
    assert plain_port != sasl_port
    admin = AdminClient(confluent_conf(sasl_broker, *CASES[0]))
    assert [b.port for b in admin.list_topics(timeout=30).brokers.values()] == [sasl_port]
    admin = AdminClient({"bootstrap.servers": sasl_broker.bootstrap("PLAINTEXT")})
    assert [b.port for b in admin.list_topics(timeout=30).brokers.values()] == [plain_port]


# --------------------------------------------------------------------------- SCRAM admin


def test_scram_credentials_admin_with_confluent(sasl_broker, topic_name):
    admin = AdminClient({"bootstrap.servers": sasl_broker.bootstrap("PLAINTEXT")})
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192)
    futures = admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion("carol", info, b"admin-set-pw-b55")])
    futures["carol"].result(30)
    described = admin.describe_user_scram_credentials(["carol"])["carol"].result(30)
    [cred] = described.scram_credential_infos
    assert (cred.mechanism, cred.iterations) == (ScramMechanism.SCRAM_SHA_256, 8192)
    conf = confluent_conf(sasl_broker, "SCRAM-SHA-256", "carol", "admin-set-pw-b55")
    assert produce_consume_confluent(conf, topic_name, 1) == [b"m0"]
    # Kafka's errors: deleting what does not exist, too few iterations.
    futures = admin.alter_user_scram_credentials([
        UserScramCredentialDeletion("carol", ScramMechanism.SCRAM_SHA_512)])
    with pytest.raises(Exception, match="does not exist"):
        futures["carol"].result(30)
    futures = admin.alter_user_scram_credentials([UserScramCredentialUpsertion(
        "dave", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 1000), b"x")])
    with pytest.raises(Exception, match="iterations"):
        futures["dave"].result(30)
    futures = admin.alter_user_scram_credentials([
        UserScramCredentialDeletion("carol", ScramMechanism.SCRAM_SHA_256)])
    futures["carol"].result(30)
    with pytest.raises(Exception, match="does not exist"):
        admin.describe_user_scram_credentials(["carol"])["carol"].result(30)


def test_scram_credentials_admin_with_kafka_python(sasl_broker):
    from kafka.admin import ScramMechanism as KpMechanism
    from kafka.admin import UserScramCredentialDeletion as KpDeletion
    from kafka.admin import UserScramCredentialUpsertion as KpUpsertion

    admin = kafka.KafkaAdminClient(bootstrap_servers=sasl_broker.bootstrap("PLAINTEXT"))
    result = admin.alter_user_scram_credentials([
        KpUpsertion("erin", KpMechanism.SCRAM_SHA_512, "admin-set-pw-b55", iterations=4096)])
    assert result == {"erin": None}
    described = admin.describe_user_scram_credentials(["erin", "nobody"])
    assert described["erin"]["credential_infos"] == [
        {"mechanism": KpMechanism.SCRAM_SHA_512, "iterations": 4096}]
    assert "does not exist" in described["nobody"]["error"]
    assert "bob" in admin.describe_user_scram_credentials()
    assert admin.alter_user_scram_credentials([
        KpDeletion("erin", KpMechanism.SCRAM_SHA_512)]) == {"erin": None}
    admin.close()


def test_scram_credentials_survive_a_restart(make_broker, topic_name):
    b = make_broker(config={"listeners": "SASL_PLAINTEXT://127.0.0.1:0"})
    b.set_scram_credential("frank", SCRAM_PASSWORD, "SCRAM-SHA-512")
    b.restart()
    conf = confluent_conf(b, "SCRAM-SHA-512", "frank", SCRAM_PASSWORD)
    assert produce_consume_confluent(conf, topic_name, 1) == [b"m0"]


# --------------------------------------------------------------------------- on the wire


def wire_request(client: WireClient, api_key: int, version: int, **fields):
    return client.request(request_class(api_key, version)(**fields))


def send_only(client: WireClient, api_key: int, version: int, **fields) -> None:
    from odradek.protocol.codec import encode

    client.send_raw(client.frame(api_key, version,
                                 encode(request_class(api_key, version)(**fields))))


def test_only_the_sasl_exchange_before_authentication(sasl_broker):
    client = WireClient(sasl_broker.bootstrap("SASL_PLAINTEXT"))
    versions = wire_request(client, 18, 3, client_software_name="t",
                            client_software_version="1")
    assert versions.error_code == ErrorCode.none
    assert {17, 36, 29, 30, 31, 50, 51} <= {k.api_key for k in versions.api_keys}
    send_only(client, 3, 1, topics=None)  # Metadata before authentication
    assert client.is_closed()


def test_handshake_v1_then_authenticate(sasl_broker):
    client = WireClient(sasl_broker.bootstrap("SASL_PLAINTEXT"))
    r = wire_request(client, 17, 1, mechanism="SCRAM-SHA-1")
    assert r.error_code == ErrorCode.unsupported_sasl_mechanism
    assert list(r.mechanisms) == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
    client.close()
    client = WireClient(sasl_broker.bootstrap("SASL_PLAINTEXT"))
    assert wire_request(client, 17, 1, mechanism="PLAIN").error_code == ErrorCode.none
    token = b"\x00alice\x00" + PLAIN_USERS["alice"].encode()
    r = wire_request(client, 36, 2, auth_bytes=token)
    assert r.error_code == ErrorCode.none
    r = wire_request(client, 36, 2, auth_bytes=token)  # again: ILLEGAL_SASL_STATE, as Kafka
    assert r.error_code == ErrorCode.illegal_sasl_state
    assert wire_request(client, 3, 12, topics=[], allow_auto_topic_creation=False,
                        include_topic_authorized_operations=False).brokers


def test_handshake_v0_then_raw_tokens(sasl_broker):
    from odradek.security.scram import SCRAM_SHA_512, ScramClient

    client = WireClient(sasl_broker.bootstrap("SASL_PLAINTEXT"))
    assert wire_request(client, 17, 0, mechanism="SCRAM-SHA-512").error_code == ErrorCode.none
    scram = ScramClient(SCRAM_SHA_512, "bob", SCRAM_PASSWORD)
    first = scram.first()
    client.send_raw(struct.pack(">i", len(first)) + first)
    final = scram.final(client.recv_frame())
    client.send_raw(struct.pack(">i", len(final)) + final)
    scram.verify(client.recv_frame())
    assert wire_request(client, 3, 1, topics=[]).brokers


def test_failed_authentication_then_the_connection_is_closed(sasl_broker):
    client = WireClient(sasl_broker.bootstrap("SASL_PLAINTEXT"))
    wire_request(client, 17, 1, mechanism="PLAIN")
    r = wire_request(client, 36, 1, auth_bytes=b"\x00alice\x00wrong-password-9e7")
    assert r.error_code == ErrorCode.sasl_authentication_failed
    assert r.error_message == "Authentication failed: Invalid username or password"
    send_only(client, 18, 0)
    assert client.is_closed()


def test_sasl_on_a_plaintext_listener_is_an_illegal_state(sasl_broker):
    client = WireClient(sasl_broker.bootstrap("PLAINTEXT"))
    assert wire_request(client, 17, 1, mechanism="PLAIN").error_code == (
        ErrorCode.illegal_sasl_state)


def test_big_requests_are_refused_before_authentication(sasl_broker):
    client = WireClient(sasl_broker.bootstrap("SASL_PLAINTEXT"))
    client.send_raw(struct.pack(">i", 10 * 1024 * 1024) + b"\x00" * 1024)
    assert client.is_closed()
