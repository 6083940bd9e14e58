"""SCRAM (RFC 5802 / RFC 7677 test vector), SASL/PLAIN and JAAS config parsing."""

from __future__ import annotations

import base64

import pytest

from odradek.security.errors import SaslAuthenticationError, SecurityConfigError
from odradek.security.plain import PlainServer, parse_jaas_config, plain_users
from odradek.security.scram import (
    SCRAM_SHA_256,
    SCRAM_SHA_512,
    ScramClient,
    ScramCredentials,
    ScramServer,
    credential_from_salted_password,
    new_credential,
    salted_password,
)

# RFC 7677 section 3: user "user", password "pencil".
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = (b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
RFC_CLIENT_FINAL = (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def rfc_credential():
    return new_credential(SCRAM_SHA_256, "pencil", 4096, RFC_SALT)


def test_rfc7677_server_side():
    server = ScramServer(SCRAM_SHA_256, {"user": rfc_credential()}.get, nonce=RFC_SERVER_NONCE)
    assert server.evaluate(RFC_CLIENT_FIRST) == RFC_SERVER_FIRST
    assert not server.complete
    assert server.evaluate(RFC_CLIENT_FINAL) == RFC_SERVER_FINAL
    assert server.complete and server.username == "user"


def test_rfc7677_client_side():
    client = ScramClient(SCRAM_SHA_256, "user", "pencil", nonce=RFC_CLIENT_NONCE)
    assert client.first() == RFC_CLIENT_FIRST
    assert client.final(RFC_SERVER_FIRST) == RFC_CLIENT_FINAL
    client.verify(RFC_SERVER_FINAL)
    with pytest.raises(SaslAuthenticationError):
        client.verify(b"v=" + base64.b64encode(b"x" * 32))


def test_credential_from_salted_password_matches_password_derivation():
    salted = salted_password(SCRAM_SHA_512, "secret", b"salt" * 8, 8192)
    assert credential_from_salted_password(SCRAM_SHA_512, salted, b"salt" * 8, 8192) == (
        new_credential(SCRAM_SHA_512, "secret", 8192, b"salt" * 8))
    assert "secret" not in repr(new_credential(SCRAM_SHA_512, "secret"))
    assert "stored_key" not in repr(new_credential(SCRAM_SHA_512, "secret"))


def exchange(mechanism, stored_password, password, user="alice", client_user=None):
    creds = {user: new_credential(mechanism, stored_password)}
    server = ScramServer(mechanism, creds.get)
    client = ScramClient(mechanism, client_user or user, password)
    final = client.final(server.evaluate(client.first()))
    client.verify(server.evaluate(final))
    return server


@pytest.mark.parametrize("mechanism", [SCRAM_SHA_256, SCRAM_SHA_512])
def test_round_trip(mechanism):
    server = exchange(mechanism, "s3cret", "s3cret")
    assert server.complete and server.username == "alice"


@pytest.mark.parametrize("mechanism", [SCRAM_SHA_256, SCRAM_SHA_512])
def test_wrong_password_fails_with_a_generic_message(mechanism):
    with pytest.raises(SaslAuthenticationError) as info:
        exchange(mechanism, "s3cret", "guess")
    assert info.value.message == ("Authentication failed during authentication due to invalid "
                                  f"credentials with SASL mechanism {mechanism.name}")
    assert "s3cret" not in info.value.reason and "guess" not in info.value.reason


def test_unknown_user_fails_at_the_first_message():
    server = ScramServer(SCRAM_SHA_256, {}.get)
    with pytest.raises(SaslAuthenticationError):
        server.evaluate(ScramClient(SCRAM_SHA_256, "nobody", "x").first())


def test_sasl_names_are_unescaped():
    server = exchange(SCRAM_SHA_256, "pw", "pw", user="a,b=c")
    assert server.username == "a,b=c"


@pytest.mark.parametrize("first", [
    b"p=tls-unique,,n=user,r=abc",  # channel binding is not supported
    b"n,,r=abc",  # no user name
    b"garbage",
    b"n,a=other,n=user,r=abc",  # authorization id differs from the user
    b"\xff\xfe",
])
def test_malformed_client_first_messages_fail(first):
    server = ScramServer(SCRAM_SHA_256, {"user": rfc_credential()}.get)
    with pytest.raises(SaslAuthenticationError):
        server.evaluate(first)


def test_client_final_with_a_wrong_nonce_fails():
    server = ScramServer(SCRAM_SHA_256, {"user": rfc_credential()}.get, nonce=RFC_SERVER_NONCE)
    server.evaluate(RFC_CLIENT_FIRST)
    with pytest.raises(SaslAuthenticationError):
        server.evaluate(RFC_CLIENT_FINAL.replace(b"k0,p=", b"k1,p="))


def test_too_few_iterations_are_refused():
    weak = new_credential(SCRAM_SHA_256, "pw", iterations=1000)
    server = ScramServer(SCRAM_SHA_256, {"user": weak}.get)
    with pytest.raises(SaslAuthenticationError):
        server.evaluate(b"n,,n=user,r=abc")


def test_credentials_store_persists_through_the_store(tmp_path):
    from odradek.meta.sqlite import SqliteMetadataStore

    password = "correct-horse-battery-staple"
    store = SqliteMetadataStore(tmp_path / "m.db")
    creds = ScramCredentials(store)
    creds.set_password("alice", "SCRAM-SHA-256", password)
    creds.set_password("alice", "SCRAM-SHA-512", password, iterations=8192)
    store.close()
    store = SqliteMetadataStore(tmp_path / "m.db")
    again = ScramCredentials(store)
    assert set(again.users()["alice"]) == {"SCRAM-SHA-256", "SCRAM-SHA-512"}
    assert again.get("alice", "SCRAM-SHA-512").iterations == 8192
    raw = b"".join(f.read_bytes() for f in tmp_path.iterdir())
    assert password.encode() not in raw  # salted and hashed only
    assert again.delete("alice", "SCRAM-SHA-256") and not again.delete("alice", "SCRAM-SHA-256")
    store.close()


# --------------------------------------------------------------------------- PLAIN, JAAS

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="admin" password="admin-secret" user_admin="admin-secret" '
        'user_alice="alice \\"quoted\\" secret";')


def test_jaas_config_parsing():
    [module] = parse_jaas_config(JAAS)
    assert module.login_module.endswith("PlainLoginModule") and module.flag == "required"
    assert module.options["username"] == "admin"
    assert plain_users(JAAS) == {"admin": "admin-secret", "alice": 'alice "quoted" secret'}
    assert "secret" not in repr(module)
    two = JAAS + " org.apache.kafka.common.security.scram.ScramLoginModule required;"
    assert [m.login_module.rsplit(".", 1)[-1] for m in parse_jaas_config(two)] == [
        "PlainLoginModule", "ScramLoginModule"]
    assert plain_users(None) == {}


@pytest.mark.parametrize("bad", ["", "Module", "Module required", "Module bogus;",
                                 'Module required user_a="x"', 'Module required a="x;'])
def test_bad_jaas_configs(bad):
    with pytest.raises(SecurityConfigError):
        parse_jaas_config(bad)


def test_plain_server():
    ok = PlainServer({"alice": "pw"})
    assert ok.evaluate(b"\x00alice\x00pw") == b"" and ok.complete and ok.username == "alice"
    assert PlainServer({"alice": "pw"}).evaluate(b"alice\x00alice\x00pw") == b""
    for token, message in [
        (b"\x00alice\x00nope", "Authentication failed: Invalid username or password"),
        (b"\x00bob\x00pw", "Authentication failed: Invalid username or password"),
        (b"\x00\x00pw", "Authentication failed: username not specified"),
        (b"\x00alice\x00", "Authentication failed: password not specified"),
        (b"alice\x00pw", "Invalid SASL/PLAIN response: expected 3 tokens, got 2"),
        (b"bob\x00alice\x00pw", "Authentication failed: Client requested an authorization id "
                                "that is different from username"),
    ]:
        with pytest.raises(SaslAuthenticationError) as info:
            PlainServer({"alice": "pw"}).evaluate(token)
        assert info.value.message == message
        assert "nope" not in info.value.reason
