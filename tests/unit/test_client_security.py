"""Client TLS/SASL settings from Kafka client properties (Java and librdkafka names), and the
`.properties` reader they come through."""

from __future__ import annotations

import pytest

from odradek.broker.settings import read_properties
from odradek.client import ClientError, ClientSecurity


def test_java_client_properties_with_a_jaas_config(tmp_path):
    path = tmp_path / "client.properties"
    path.write_text(
        "# as given to kafka-topics.sh --command-config\n"
        "bootstrap.servers=broker:9093\n"
        "security.protocol=SASL_SSL\n"
        "sasl.mechanism: SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
        '    username="bob" \\\n'
        '    password="p\\"w=1,2";\n'
        "! a comment\n"
        "ssl.truststore.location=/etc/kafka/ca.pem\n"
        "ssl.endpoint.identification.algorithm=\n")
    props = read_properties(path)
    assert props["bootstrap.servers"] == "broker:9093"
    s = ClientSecurity.from_properties(props)
    assert (s.protocol, s.mechanism, s.username, s.password) == (
        "SASL_SSL", "SCRAM-SHA-512", "bob", 'p"w=1,2')
    assert (s.ca_file, s.check_hostname, s.uses_tls, s.uses_sasl) == (
        "/etc/kafka/ca.pem", False, True, True)
    assert "p\"w" not in repr(s)  # secrets stay out of logs and tracebacks


def test_librdkafka_names():
    s = ClientSecurity.from_properties({
        "security.protocol": "sasl_plaintext", "sasl.mechanisms": "plain",
        "sasl.username": "alice", "sasl.password": "pw", "ssl.ca.location": "/ca.pem",
        "ssl.certificate.location": "/c.pem", "ssl.key.location": "/k.pem"})
    assert (s.protocol, s.mechanism, s.username, s.password) == (
        "SASL_PLAINTEXT", "PLAIN", "alice", "pw")
    assert (s.ca_file, s.cert_file, s.key_file, s.check_hostname) == (
        "/ca.pem", "/c.pem", "/k.pem", True)
    assert not s.uses_tls and s.ssl_context() is None


def test_plaintext_by_default():
    s = ClientSecurity.from_properties({"acks": "all"})
    assert (s.protocol, s.uses_tls, s.uses_sasl) == ("PLAINTEXT", False, False)


@pytest.mark.parametrize(("props", "message"), [
    ({"security.protocol": "KERBEROS"}, "security.protocol"),
    ({"security.protocol": "SASL_SSL", "sasl.mechanism": "GSSAPI", "sasl.username": "a",
      "sasl.password": "b"}, "sasl.mechanism"),
    ({"security.protocol": "SASL_PLAINTEXT", "sasl.username": "a"}, "sasl.password"),
])
def test_settings_it_cannot_use_are_refused(props, message):
    with pytest.raises(ClientError, match=message):
        ClientSecurity.from_properties(props)


def test_a_missing_ca_file_is_a_clear_error(tmp_path):
    s = ClientSecurity.from_properties({"security.protocol": "SSL",
                                        "ssl.ca.location": str(tmp_path / "none.pem")})
    with pytest.raises(ClientError, match="cannot set up TLS"):
        s.ssl_context()


def test_properties_continuation_and_separators(tmp_path):
    path = tmp_path / "server.properties"
    path.write_text("a=1\nb : two words \nd=long \\\n  value \\\n  end\ne=\\\n")
    assert read_properties(path) == {"a": "1", "b": "two words", "d": "long value end", "e": ""}
