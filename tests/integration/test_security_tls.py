"""TLS listeners with confluent-kafka and kafka-python: server certificates (PEM files or PEM
text), mutual TLS with the client certificate's DN as principal, SASL_SSL with SCRAM next to
a PLAINTEXT listener."""

from __future__ import annotations

import logging
import time

import kafka
import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

pytest.importorskip("cryptography")

from tests.support.certs import (  # noqa: E402
    make_pki,
    write_pkcs12_keystore,
    write_pkcs12_truststore,
)

ALICE_DN = "CN=alice,OU=eng,O=odradek"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def server_files(pki) -> dict:
    return {"ssl.certificate.location": str(pki.server.cert),
            "ssl.key.location": str(pki.server.key)}


def ssl_conf(broker, pki, client=None, listener="SSL") -> dict:
    conf = {"bootstrap.servers": broker.bootstrap(listener), "security.protocol": "SSL",
            "ssl.ca.location": str(pki.ca)}
    if client is not None:
        conf.update({"ssl.certificate.location": str(client.cert),
                     "ssl.key.location": str(client.key)})
    return conf


def round_trip(conf: dict, topic: str, values: list[bytes]) -> list[bytes]:
    p = Producer(conf)
    for v in values:
        p.produce(topic, v)
    assert p.flush(30) == 0
    c = Consumer({**conf, "group.id": f"g-{topic}", "auto.offset.reset": "earliest",
                  "fetch.max.bytes": 4 * 1024 * 1024})
    c.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(got) < len(values) and time.monotonic() < deadline:
        m = c.poll(1)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    return got


def test_tls_with_confluent_and_kafka_python(make_broker, pki, topic_name):
    b = make_broker(config={"listeners": "SSL://127.0.0.1:0", **server_files(pki),
                            "group.initial.rebalance.delay.ms": 0})
    # Big records too: over TLS fetch responses go through memory, not sendfile.
    values = [b"small", b"x" * 600_000, b"y" * 900_000]
    assert round_trip(ssl_conf(b, pki), topic_name, values) == values
    producer = kafka.KafkaProducer(bootstrap_servers=b.bootstrap("SSL"), security_protocol="SSL",
                                   ssl_cafile=str(pki.ca))
    producer.send(topic_name, b"from kafka-python").get(timeout=30)
    producer.close()
    consumer = kafka.KafkaConsumer(topic_name, bootstrap_servers=b.bootstrap("SSL"),
                                   security_protocol="SSL", ssl_cafile=str(pki.ca),
                                   auto_offset_reset="earliest", consumer_timeout_ms=10000)
    got = [m.value for _, m in zip(range(4), consumer, strict=False)]
    consumer.close()
    assert got == [*values, b"from kafka-python"]


def test_a_client_that_does_not_trust_the_server_is_refused(make_broker, pki, tmp_path):
    b = make_broker(config={"listeners": "SSL://127.0.0.1:0", **server_files(pki)})
    other = make_pki(tmp_path / "other")
    errors: list[KafkaError] = []
    p = Producer({**ssl_conf(b, pki), "ssl.ca.location": str(other.ca),
                  "error_cb": errors.append})
    deadline = time.monotonic() + 30
    while not errors:
        assert time.monotonic() < deadline
        p.poll(0.2)
    assert errors[0].code() in (KafkaError._SSL, KafkaError._TRANSPORT,
                                KafkaError._ALL_BROKERS_DOWN)


def mtls_broker(make_broker, pki, **extra):
    return make_broker(config={
        "listeners": "SSL://127.0.0.1:0", **server_files(pki),
        "ssl.truststore.location": str(pki.ca), "ssl.client.auth": "required",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "group.initial.rebalance.delay.ms": 0, **extra})


def test_mutual_tls_principal_is_the_certificate_dn(make_broker, pki, topic_name):
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    b = mtls_broker(make_broker, pki, **{"super.users": "User:CN=admin,O=odradek"})
    admin_cert = pki.client("admin", "admin", o="odradek")
    alice = pki.client("alice", "alice", ou="eng", o="odradek")
    admin = AdminClient(ssl_conf(b, pki, admin_cert))
    bindings = [AclBinding(rtype, name, ResourcePatternType.LITERAL, f"User:{ALICE_DN}", "*",
                           op, AclPermissionType.ALLOW)
                for rtype, name, op in [(ResourceType.TOPIC, topic_name, AclOperation.ALL),
                                        (ResourceType.GROUP, f"g-{topic_name}",
                                         AclOperation.READ)]]
    for future in admin.create_acls(bindings).values():
        future.result(30)
    b.create_topic(topic_name)
    assert round_trip(ssl_conf(b, pki, alice), topic_name, [b"a", b"b"]) == [b"a", b"b"]
    # Another certificate from the same CA has no rights.
    bob = pki.client("bob", "bob", ou="eng", o="odradek")
    reports = []
    p = Producer({**ssl_conf(b, pki, bob), "on_delivery": lambda e, m: reports.append(e)})
    p.produce(topic_name, b"no")
    p.flush(30)
    assert [e.code() for e in reports] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]


def test_mutual_tls_requires_a_client_certificate(make_broker, pki):
    b = mtls_broker(make_broker, pki, **{"allow.everyone.if.no.acl.found": "true"})
    errors: list[KafkaError] = []
    p = Producer({**ssl_conf(b, pki), "error_cb": errors.append})
    deadline = time.monotonic() + 30
    while not errors:
        assert time.monotonic() < deadline
        p.poll(0.2)
    # With a certificate the same broker works.
    alice = pki.client("alice2", "alice")
    assert AdminClient(ssl_conf(b, pki, alice)).list_topics(timeout=30).brokers


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_next_to_plaintext(make_broker, pki, topic_name, mechanism):
    jaas = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
            'user_bob="bob-secret";')
    b = make_broker(config={"listeners": "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
                            "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas,
                            **server_files(pki), "group.initial.rebalance.delay.ms": 0})
    if mechanism != "PLAIN":
        b.set_scram_credential("bob", "bob-secret", mechanism)
    conf = {**ssl_conf(b, pki, listener="SASL_SSL"), "security.protocol": "SASL_SSL",
            "sasl.mechanism": mechanism, "sasl.username": "bob", "sasl.password": "bob-secret"}
    assert round_trip(conf, topic_name, [b"1", b"2"]) == [b"1", b"2"]
    brokers = AdminClient(conf).list_topics(timeout=30).brokers.values()
    assert [x.port for x in brokers] == [b.listener_port("SASL_SSL")]
    producer = kafka.KafkaProducer(
        bootstrap_servers=b.bootstrap("SASL_SSL"), security_protocol="SASL_SSL",
        ssl_cafile=str(pki.ca), sasl_mechanism=mechanism, sasl_plain_username="bob",
        sasl_plain_password="bob-secret")
    producer.send(topic_name, b"3").get(timeout=30)
    producer.close()
    # The same data through the PLAINTEXT listener.
    plain = {"bootstrap.servers": b.bootstrap("PLAINTEXT")}
    c = Consumer({**plain, "group.id": "plain", "auto.offset.reset": "earliest"})
    c.subscribe([topic_name])
    got: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(got) < 3 and time.monotonic() < deadline:
        m = c.poll(1)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    assert got == [b"1", b"2", b"3"]


def test_pem_text_keystore_with_an_encrypted_key(make_broker, pki, caplog):
    from cryptography.hazmat.primitives import serialization

    caplog.set_level(logging.DEBUG, logger="odradek")

    key = serialization.load_pem_private_key(pki.server.key.read_bytes(), None)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(b"key-pass-3a9"))
    b = make_broker(config={"listeners": "SSL://127.0.0.1:0", "ssl.keystore.type": "PEM",
                            "ssl.keystore.certificate.chain": pki.server.cert.read_text(),
                            "ssl.keystore.key": key_pem.decode(),
                            "ssl.key.password": "key-pass-3a9"})
    admin = AdminClient(ssl_conf(b, pki))
    assert admin.list_topics(timeout=30).brokers
    resource = ConfigResource(ConfigResource.Type.BROKER, "1")
    configs = admin.describe_configs([resource])[resource].result(30)
    for name in ("ssl.key.password", "ssl.keystore.key", "ssl.keystore.certificate.chain"):
        assert configs[name].is_sensitive and configs[name].value is None
    assert configs["ssl.client.auth"].value == "none"
    assert "listener SSL (SSL)" in caplog.text  # the broker's log was captured
    assert "key-pass-3a9" not in caplog.text and "PRIVATE KEY" not in caplog.text


def test_keystore_location_with_key_and_chain_in_one_file(make_broker, pki, tmp_path):
    combined = tmp_path / "keystore.pem"
    combined.write_text(pki.server.key.read_text() + pki.server.cert.read_text())
    b = make_broker(config={"listeners": "SSL://127.0.0.1:0",
                            "ssl.keystore.location": str(combined)})
    assert AdminClient(ssl_conf(b, pki)).list_topics(timeout=30).brokers


def test_pkcs12_keystore_and_truststore(make_broker, pki, topic_name, tmp_path, capsys,
                                        monkeypatch):
    """Java-style stores (ssl.keystore.type / ssl.truststore.type = PKCS12) for a mutual-TLS
    listener, and for the CLI on the client side."""
    from tests.support.cli import run_cli

    keystore = write_pkcs12_keystore(pki, pki.server, tmp_path / "server.p12", b"ks-secret")
    truststore = write_pkcs12_truststore(pki, tmp_path / "trust.p12", b"ts-secret")
    b = make_broker(config={
        "listeners": "SSL://127.0.0.1:0", "ssl.client.auth": "required",
        "ssl.keystore.type": "PKCS12", "ssl.keystore.location": str(keystore),
        "ssl.keystore.password": "ks-secret",
        "ssl.truststore.type": "PKCS12", "ssl.truststore.location": str(truststore),
        "ssl.truststore.password": "ts-secret"})
    alice = pki.client("alice-p12", "alice")
    assert round_trip(ssl_conf(b, pki, alice), topic_name, [b"p12"]) == [b"p12"]
    # The CLI with its certificate in a PKCS12 keystore and the CA in a PKCS12 truststore.
    client_store = write_pkcs12_keystore(pki, alice, tmp_path / "alice.p12", b"alice-pw")
    cli = ["-b", b.bootstrap("SSL"), "-X", "security.protocol=SSL",
           "-X", "ssl.truststore.type=PKCS12", "-X", f"ssl.truststore.location={truststore}",
           "-X", "ssl.truststore.password=ts-secret",
           "-X", "ssl.keystore.type=PKCS12", "-X", f"ssl.keystore.location={client_store}"]
    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "-e", *cli,
                "-X", "ssl.keystore.password=alice-pw")
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["p12"]
    r = run_cli(capsys, "cluster", "info", "--timeout", "10", *cli,
                "-X", "ssl.keystore.password=bad-pw-77")
    assert r.code == 1 and "wrong password" in r.err and "bad-pw-77" not in r.err
    r = run_cli(capsys, "cluster", "info", "-b", b.bootstrap("SSL"),
                "-X", "security.protocol=SSL", "-X", "ssl.keystore.type=JKS")
    assert r.code == 1 and "keytool -importkeystore" in r.err
    r = run_cli(capsys, "cluster", "info", "--timeout", "10", "-b", b.bootstrap("SSL"),
                "-X", "security.protocol=SSL", "-X", f"ssl.truststore.location={truststore}")
    assert r.code == 1 and "is not PEM: for a PKCS12 file set ssl.truststore.type" in r.err


@pytest.mark.parametrize("problem, message", [
    ({"ssl.keystore.type": "JKS"}, "keytool -importkeystore"),
    # A Kafka config that relies on a binary store without naming its type (PEM here).
    ({"ssl.keystore.type": "PEM"}, "is not PEM: for a PKCS12 file set ssl.keystore.type=PKCS12"),
    ({"ssl.keystore.password": "wrong"}, "wrong password"),
    ({"ssl.truststore.type": "PKCS12", "ssl.truststore.location": "{ca}",
      "ssl.client.auth": "required"}, "not a PKCS12 file"),
])
def test_a_keystore_the_broker_cannot_use_stops_it_with_the_reason(make_broker, pki, tmp_path,
                                                                   problem, message):
    keystore = write_pkcs12_keystore(pki, pki.server, tmp_path / "server.p12", b"ks-secret")
    config = {"listeners": "SSL://127.0.0.1:0", "ssl.keystore.type": "PKCS12",
              "ssl.keystore.location": str(keystore), "ssl.keystore.password": "ks-secret"}
    config.update({k: v.format(ca=pki.ca) for k, v in problem.items()})
    with pytest.raises(RuntimeError) as exc:
        make_broker(config=config)
    assert message in str(exc.value.__cause__)


def test_the_cli_over_tls_sasl_ssl_and_mutual_tls(make_broker, pki, topic_name, capsys,
                                                  monkeypatch, tmp_path):
    from tests.support.cli import run_cli

    jaas = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
            'user_bob="bob-secret";')
    b = make_broker(config={"listeners": "SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
                            "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas,
                            **server_files(pki)})
    b.set_scram_credential("bob", "bob-secret", "SCRAM-SHA-256")
    tls = ["-b", b.bootstrap("SSL"), "-X", "security.protocol=SSL",
           "-X", f"ssl.ca.location={pki.ca}"]
    r = run_cli(capsys, "topic", "create", topic_name, *tls)
    assert r.code == 0, r.err
    r = run_cli(capsys, "produce", topic_name, *tls, stdin=b"over tls\n", monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    sasl_ssl = ["-b", b.bootstrap("SASL_SSL"), "-X", "security.protocol=SASL_SSL",
                "-X", f"ssl.truststore.location={pki.ca}", "-X", "sasl.mechanism=SCRAM-SHA-256",
                "-X", "sasl.username=bob", "-X", "sasl.password=bob-secret"]
    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "-e", *sasl_ssl)
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["over tls"]
    # A CA that did not sign the broker's certificate: refused, and said so.
    other = make_pki(tmp_path / "other")
    r = run_cli(capsys, "cluster", "info", "-b", b.bootstrap("SSL"), "--timeout", "10",
                "-X", "security.protocol=SSL", "-X", f"ssl.ca.location={other.ca}")
    assert r.code == 1 and "CERTIFICATE_VERIFY_FAILED" in r.err
    # Mutual TLS: the client's certificate and key.
    m = mtls_broker(make_broker, pki, **{"allow.everyone.if.no.acl.found": "true"})
    alice = pki.client("alice3", "alice")
    mtls = ["-b", m.bootstrap("SSL"), "-X", "security.protocol=SSL", "-X",
            f"ssl.ca.location={pki.ca}", "--output", "json"]
    r = run_cli(capsys, "cluster", "info", *mtls, "-X", f"ssl.certificate.location={alice.cert}",
                "-X", f"ssl.key.location={alice.key}")
    assert r.code == 0, r.err
    assert r.json()["brokers"][0]["port"] == m.listener_port("SSL")
    r = run_cli(capsys, "cluster", "info", *mtls, "--timeout", "10")
    assert r.code == 1
