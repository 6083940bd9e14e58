"""ACL matching (Kafka's StandardAuthorizer rules), principals, listeners and secret masking."""

from __future__ import annotations

import pytest

from odradek.broker.configs import is_sensitive
from odradek.broker.settings import BrokerSettings
from odradek.security.acl import (
    AclAuthorizer,
    AclBinding,
    AclBindingFilter,
    AclError,
    AclOperation,
    AclPermissionType,
    PatternType,
    ResourceType,
    parse_super_users,
)
from odradek.security.errors import SecurityConfigError
from odradek.security.listeners import build_listeners, parse_listeners
from odradek.security.principal import dn_from_peercert, parse_principal, user

Op, Res, P = AclOperation, ResourceType, PatternType
ALLOW, DENY = AclPermissionType.ALLOW, AclPermissionType.DENY
ALICE, BOB = user("alice"), user("bob")


def acl(name, op=Op.READ, perm=ALLOW, principal="User:alice", pattern=P.LITERAL,
        rtype=Res.TOPIC, host="*"):
    return AclBinding(rtype, name, pattern, principal, host, op, perm)


def authorizer(*acls, **kwargs):
    return AclAuthorizer(acls=acls, **kwargs)


def test_literal_allow_and_default_deny():
    a = authorizer(acl("orders"))
    assert a.authorize(ALICE, "1.2.3.4", Op.READ, Res.TOPIC, "orders")
    assert not a.authorize(ALICE, "1.2.3.4", Op.WRITE, Res.TOPIC, "orders")
    assert not a.authorize(BOB, "1.2.3.4", Op.READ, Res.TOPIC, "orders")
    assert not a.authorize(ALICE, "1.2.3.4", Op.READ, Res.TOPIC, "orders2")  # literal, exact
    assert not a.authorize(ALICE, "1.2.3.4", Op.READ, Res.GROUP, "orders")  # other type


def test_prefixed_and_wildcard_resources():
    a = authorizer(acl("app-", pattern=P.PREFIXED), acl("*", Op.WRITE))
    assert a.authorize(ALICE, "h", Op.READ, Res.TOPIC, "app-events")
    assert a.authorize(ALICE, "h", Op.READ, Res.TOPIC, "app-")
    assert not a.authorize(ALICE, "h", Op.READ, Res.TOPIC, "ap")
    assert not a.authorize(ALICE, "h", Op.READ, Res.TOPIC, "other")
    assert a.authorize(ALICE, "h", Op.WRITE, Res.TOPIC, "anything")


def test_deny_wins_over_allow():
    a = authorizer(acl("app-", pattern=P.PREFIXED), acl("app-secret", perm=DENY))
    assert a.authorize(ALICE, "h", Op.READ, Res.TOPIC, "app-public")
    assert not a.authorize(ALICE, "h", Op.READ, Res.TOPIC, "app-secret")
    b = authorizer(acl("*", op=Op.ALL), acl("app-", op=Op.ALL, perm=DENY, pattern=P.PREFIXED,
                                            principal="User:*"))
    assert not b.authorize(ALICE, "h", Op.WRITE, Res.TOPIC, "app-x")
    assert b.authorize(ALICE, "h", Op.WRITE, Res.TOPIC, "other")


def test_wildcard_principal_and_hosts():
    a = authorizer(acl("t", principal="User:*"), acl("t", Op.WRITE, host="10.0.0.1"))
    assert a.authorize(BOB, "h", Op.READ, Res.TOPIC, "t")
    assert a.authorize(ALICE, "10.0.0.1", Op.WRITE, Res.TOPIC, "t")
    assert not a.authorize(ALICE, "10.0.0.2", Op.WRITE, Res.TOPIC, "t")


def test_implied_operations():
    a = authorizer(acl("t", Op.WRITE), acl("t", Op.ALTER_CONFIGS))
    assert a.authorize(ALICE, "h", Op.DESCRIBE, Res.TOPIC, "t")  # WRITE implies DESCRIBE
    assert a.authorize(ALICE, "h", Op.DESCRIBE_CONFIGS, Res.TOPIC, "t")
    assert not a.authorize(ALICE, "h", Op.READ, Res.TOPIC, "t")
    b = authorizer(acl("t", Op.ALL))
    assert all(b.authorize(ALICE, "h", op, Res.TOPIC, "t") for op in (Op.READ, Op.DELETE))
    # A DENY READ does not deny DESCRIBE (implication is for ALLOW only).
    c = authorizer(acl("t", Op.DESCRIBE), acl("t", Op.READ, perm=DENY))
    assert c.authorize(ALICE, "h", Op.DESCRIBE, Res.TOPIC, "t")
    assert not c.authorize(ALICE, "h", Op.READ, Res.TOPIC, "t")


def test_super_users_and_allow_everyone_if_no_acl_found():
    assert parse_super_users(" User:admin ; User:CN=ops,O=x;") == {"User:admin",
                                                                   "User:CN=ops,O=x"}
    a = authorizer(acl("t", Op.ALL, perm=DENY, principal="User:*"),
                   super_users={"User:admin"}, allow_everyone_if_no_acl=True)
    assert a.authorize(user("admin"), "h", Op.WRITE, Res.TOPIC, "t")
    assert not a.authorize(ALICE, "h", Op.WRITE, Res.TOPIC, "t")
    assert a.authorize(ALICE, "h", Op.WRITE, Res.TOPIC, "no-acls-here")
    # Any ACL on the resource (even for someone else) turns the default off.
    b = authorizer(acl("t", principal="User:bob"), allow_everyone_if_no_acl=True)
    assert not b.authorize(ALICE, "h", Op.READ, Res.TOPIC, "t")
    assert not authorizer().authorize(ALICE, "h", Op.READ, Res.TOPIC, "t")


def test_authorize_by_resource_type():
    def any_write(*acls, **kw):
        return authorizer(*acls, **kw).authorize_by_resource_type(ALICE, "h", Op.WRITE,
                                                                  Res.TOPIC)

    assert not any_write()
    assert any_write(acl("t", Op.WRITE))
    assert not any_write(acl("t", Op.READ))
    assert not any_write(acl("t", Op.WRITE), acl("t", Op.WRITE, perm=DENY))
    assert not any_write(acl("app-x", Op.WRITE), acl("app-", Op.WRITE, DENY,
                                                     pattern=P.PREFIXED))
    assert any_write(acl("*", Op.WRITE))
    assert not any_write(acl("t", Op.WRITE), acl("*", Op.WRITE, perm=DENY))
    assert any_write(allow_everyone_if_no_acl=True)
    assert any_write(super_users={"User:alice"})


def test_authorized_operations_bits():
    a = authorizer(acl("t", Op.READ))
    bits = a.authorized_operations(ALICE, "h", Res.TOPIC, "t")
    assert bits == (1 << Op.READ) | (1 << Op.DESCRIBE)
    assert a.authorized_operations(BOB, "h", Res.TOPIC, "t") == 0


def test_filters_and_changes(tmp_path):
    from odradek.meta.sqlite import SqliteMetadataStore

    store = SqliteMetadataStore(tmp_path / "m.db")
    a = AclAuthorizer(store=store)
    bindings = [acl("orders"), acl("app-", pattern=P.PREFIXED), acl("*", Op.WRITE),
                acl("g", rtype=Res.GROUP)]
    a.create_acls(bindings + [bindings[0]])
    assert len(a.acls()) == 4
    match = AclBindingFilter(Res.TOPIC, "app-events", P.MATCH)
    assert {b.resource_name for b in a.acls(match)} == {"app-", "*"}
    assert a.acls(AclBindingFilter(Res.TOPIC, "orders", P.LITERAL)) == [bindings[0]]
    assert len(a.acls(AclBindingFilter(Res.ANY, None, P.ANY, "User:alice"))) == 4
    assert a.acls(AclBindingFilter(operation=Op.WRITE)) == [bindings[2]]
    [deleted] = a.delete_acls([AclBindingFilter(Res.GROUP)])
    assert deleted == [bindings[3]]
    assert not a.authorize(ALICE, "h", Op.READ, Res.GROUP, "g")
    store.close()
    reloaded = SqliteMetadataStore(tmp_path / "m.db")
    assert sorted(map(str, reloaded.acls())) == sorted(map(str, bindings[:3]))
    reloaded.close()


@pytest.mark.parametrize("binding", [
    acl("t", rtype=Res.ANY), acl("t", pattern=P.MATCH), acl("t", Op.ANY),
    acl("t", perm=AclPermissionType.ANY), acl(""), acl("c", rtype=Res.CLUSTER),
    acl("t", principal="alice"),
])
def test_invalid_bindings(binding):
    with pytest.raises(AclError):
        binding.validate()
    acl("kafka-cluster", Op.ALTER, rtype=Res.CLUSTER).validate()


# --------------------------------------------------------------------------- principals


def test_principals():
    assert str(parse_principal("User:alice")) == "User:alice"
    with pytest.raises(ValueError):
        parse_principal("alice")
    cert = {"subject": ((("countryName", "DE"),), (("organizationName", "Odradek, Inc"),),
                        (("organizationalUnitName", "eng"),), (("commonName", "alice"),))}
    assert dn_from_peercert(cert) == "CN=alice,OU=eng,O=Odradek\\, Inc,C=DE"
    assert dn_from_peercert({}) is None and dn_from_peercert(None) is None


# --------------------------------------------------------------------------- listeners


def test_listener_parsing():
    [default] = parse_listeners({}, "127.0.0.1", 9092, "broker.example", 9999)
    assert (default.name, default.security_protocol, default.endpoint) == (
        "PLAINTEXT", "PLAINTEXT", ("broker.example", 9999))
    [only] = parse_listeners({"advertised.listeners": "PLAINTEXT://kafka.example:19092"},
                             "0.0.0.0", 9092)
    assert (only.host, only.port, only.endpoint) == ("0.0.0.0", 9092, ("kafka.example", 19092))
    props = {"listeners": "INTERNAL://:9092,SASL_SSL://[::1]:9094,CLIENT://127.0.0.1:0",
             "listener.security.protocol.map": "INTERNAL:PLAINTEXT,CLIENT:SASL_PLAINTEXT",
             "advertised.listeners": "SASL_SSL://kafka.example:19094"}
    internal, sasl_ssl, client = parse_listeners(props)
    assert (internal.host, internal.security_protocol) == ("0.0.0.0", "PLAINTEXT")
    assert (sasl_ssl.host, sasl_ssl.endpoint, sasl_ssl.tls, sasl_ssl.sasl) == (
        "::1", ("kafka.example", 19094), True, True)
    client.bound_port = 4321
    assert client.endpoint == ("127.0.0.1", 4321) and client.sasl and not client.tls


@pytest.mark.parametrize("props", [
    {"listeners": "FOO://127.0.0.1:1"},
    {"listeners": "PLAINTEXT://127.0.0.1"},
    {"listeners": "PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2"},
    {"listeners": "PLAINTEXT://127.0.0.1:1", "advertised.listeners": "SSL://h:1"},
    {"listeners": "SASL_PLAINTEXT://127.0.0.1:1", "sasl.enabled.mechanisms": "GSSAPI"},
    {"listeners": "SSL://127.0.0.1:1"},  # no certificate
    {"listeners": "SSL://127.0.0.1:1", "ssl.keystore.type": "PKCS12"},
])
def test_bad_listener_configs(props):
    with pytest.raises(SecurityConfigError):
        build_listeners(props)


def test_sasl_settings_per_listener():
    jaas = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
            'user_alice="a";')
    props = {"listeners": "A://127.0.0.1:0,B://127.0.0.1:0",
             "listener.security.protocol.map": "A:SASL_PLAINTEXT,B:SASL_PLAINTEXT",
             "sasl.enabled.mechanisms": "SCRAM-SHA-512",
             "listener.name.a.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
             "listener.name.a.plain.sasl.jaas.config": jaas}
    a, b = build_listeners(props)
    assert a.sasl_mechanisms == ("PLAIN", "SCRAM-SHA-256") and a.plain_users == {"alice": "a"}
    assert b.sasl_mechanisms == ("SCRAM-SHA-512",) and b.plain_users == {}
    assert "'a'" not in repr(a)


# --------------------------------------------------------------------------- secrets


def test_sensitive_configs_are_masked():
    assert is_sensitive("sasl.jaas.config")
    assert is_sensitive("listener.name.sasl_ssl.plain.sasl.jaas.config")
    assert is_sensitive("ssl.key.password") and is_sensitive("listener.name.x.ssl.key.password")
    assert is_sensitive("ssl.keystore.key") and not is_sensitive("ssl.keystore.location")
    secret = 'user_alice="alice-secret-123";'
    settings = BrokerSettings(properties={
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": "PlainLoginModule required "
        + secret, "ssl.key.password": "key-secret-456", "num.partitions": "3"})
    text = settings.to_toml()
    assert "alice-secret-123" not in text and "key-secret-456" not in text
    assert '"ssl.key.password" = "[hidden]"' in text and '"num.partitions" = 3' in text
    assert "alice-secret-123" not in repr(settings)
