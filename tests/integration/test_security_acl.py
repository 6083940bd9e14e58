"""ACLs end to end: an authorizer on a SASL/PLAIN listener, ACLs managed with CreateAcls /
DescribeAcls / DeleteAcls from confluent-kafka and kafka-python, and clients without rights
getting TOPIC_AUTHORIZATION_FAILED / GROUP_AUTHORIZATION_FAILED instead of data."""

from __future__ import annotations

import time

import kafka
import kafka.errors
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

USERS = {"admin": "admin-pw-0a1", "alice": "alice-pw-0b2", "bob": "bob-pw-0c3"}
JAAS = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
        + " ".join(f'user_{u}="{p}"' for u, p in USERS.items()) + ";")
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def broker_config(**extra) -> dict:
    return {"listeners": "SASL_PLAINTEXT://127.0.0.1:0", "sasl.jaas.config": JAAS,
            "sasl.enabled.mechanisms": "PLAIN", "authorizer.class.name": AUTHORIZER,
            "super.users": "User:admin", "group.initial.rebalance.delay.ms": 0, **extra}


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory):
    from odradek import Broker

    with Broker(data_dir=tmp_path_factory.mktemp("acl"), config=broker_config()) as b:
        yield b


def conf(broker, user: str) -> dict:
    return {"bootstrap.servers": broker.bootstrap_servers, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": USERS[user]}


def kp_conf(broker, user: str) -> dict:
    return {"bootstrap_servers": broker.bootstrap_servers, "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN", "sasl_plain_username": user,
            "sasl_plain_password": USERS[user]}


def allow(rtype, name, principal, op, pattern=ResourcePatternType.LITERAL,
          permission=AclPermissionType.ALLOW) -> AclBinding:
    return AclBinding(rtype, name, pattern, principal, "*", op, permission)


def create_acls(broker, bindings) -> None:
    admin = AdminClient(conf(broker, "admin"))
    for future in admin.create_acls(bindings).values():
        future.result(30)


def create_topics(broker, *names) -> None:
    admin = AdminClient(conf(broker, "admin"))
    for future in admin.create_topics([NewTopic(n, 1) for n in names]).values():
        future.result(30)


def produce(broker, user: str, topic: str, value: bytes = b"v") -> KafkaError | None:
    reports = []
    p = Producer({**conf(broker, user), "on_delivery": lambda e, m: reports.append(e),
                  "message.timeout.ms": 30000})
    p.produce(topic, value)
    p.flush(30)
    return reports[0]


def consume_errors(consumer: Consumer, want) -> tuple[list[int], list[bytes]]:
    """Poll until an error code in `want` shows up; returns the errors and any data seen."""
    codes, data = [], []
    deadline = time.monotonic() + 30
    while not set(codes) & set(want):
        assert time.monotonic() < deadline, codes
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            codes.append(m.error().code())
        else:
            data.append(m.value())
    return codes, data


def test_prefixed_acls_allow_and_others_are_denied(acl_broker):
    create_topics(acl_broker, "alice-orders", "bob-orders")
    create_acls(acl_broker, [
        allow(ResourceType.TOPIC, "alice-", "User:alice", AclOperation.WRITE,
              ResourcePatternType.PREFIXED),
        allow(ResourceType.TOPIC, "alice-", "User:alice", AclOperation.READ,
              ResourcePatternType.PREFIXED),
        allow(ResourceType.GROUP, "alice-", "User:alice", AclOperation.READ,
              ResourcePatternType.PREFIXED)])
    assert produce(acl_broker, "alice", "alice-orders", b"a1") is None
    assert produce(acl_broker, "alice", "bob-orders").code() == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED)
    assert produce(acl_broker, "bob", "alice-orders").code() == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED)
    assert produce(acl_broker, "admin", "bob-orders") is None  # super user
    c = Consumer({**conf(acl_broker, "alice"), "group.id": "alice-g",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["alice-orders"])
    got = []
    deadline = time.monotonic() + 30
    while not got and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    assert got == [b"a1"]


def test_consumer_without_rights_gets_errors_not_data(acl_broker):
    create_topics(acl_broker, "secret-data")
    assert produce(acl_broker, "admin", "secret-data", b"classified") is None
    # No rights on the group: GROUP_AUTHORIZATION_FAILED.
    c = Consumer({**conf(acl_broker, "bob"), "group.id": "bob-g",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["secret-data"])
    codes, data = consume_errors(c, [KafkaError.GROUP_AUTHORIZATION_FAILED])
    c.close()
    assert data == []
    # Rights on the group but not on the topic: TOPIC_AUTHORIZATION_FAILED, subscribed ...
    create_acls(acl_broker, [allow(ResourceType.GROUP, "bob-g2", "User:bob", AclOperation.READ)])
    c = Consumer({**conf(acl_broker, "bob"), "group.id": "bob-g2",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["secret-data"])
    codes, data = consume_errors(c, [KafkaError.TOPIC_AUTHORIZATION_FAILED])
    c.close()
    assert data == []
    # ... or fetching: DESCRIBE (metadata) without READ.
    create_acls(acl_broker, [allow(ResourceType.TOPIC, "secret-data", "User:bob",
                                   AclOperation.DESCRIBE)])
    c = Consumer({**conf(acl_broker, "bob"), "group.id": "bob-g2",
                  "enable.auto.commit": False})
    c.assign([TopicPartition("secret-data", 0, 0)])
    codes, data = consume_errors(c, [KafkaError.TOPIC_AUTHORIZATION_FAILED])
    c.close()
    assert data == []


def test_kafka_python_client_without_rights(acl_broker):
    create_topics(acl_broker, "kp-secret")
    create_acls(acl_broker, [allow(ResourceType.TOPIC, "kp-secret", "User:bob",
                                   AclOperation.DESCRIBE)])
    # Not idempotent: an idempotent producer would already fail at InitProducerId
    # (CLUSTER_AUTHORIZATION_FAILED: bob may write nowhere).
    producer = kafka.KafkaProducer(**kp_conf(acl_broker, "bob"), max_block_ms=10000,
                                   enable_idempotence=False)
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        producer.send("kp-secret", b"x").get(timeout=30)
    producer.close()
    consumer = kafka.KafkaConsumer(**kp_conf(acl_broker, "bob"), enable_auto_commit=False)
    consumer.assign([kafka.TopicPartition("kp-secret", 0)])
    consumer.seek(kafka.TopicPartition("kp-secret", 0), 0)
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        for _ in range(20):
            assert not any(consumer.poll(timeout_ms=500).values())
    consumer.close()


def test_metadata_shows_only_topics_the_principal_may_describe(acl_broker):
    create_topics(acl_broker, "visible-1", "hidden-1")
    create_acls(acl_broker, [allow(ResourceType.TOPIC, "visible-1", "User:bob",
                                   AclOperation.DESCRIBE)])
    topics = AdminClient(conf(acl_broker, "bob")).list_topics(timeout=30).topics
    assert "visible-1" in topics and "hidden-1" not in topics
    everything = AdminClient(conf(acl_broker, "admin")).list_topics(timeout=30).topics
    assert {"visible-1", "hidden-1"} <= set(everything)
    # Named explicitly: TOPIC_AUTHORIZATION_FAILED, whether it exists or not.
    md = AdminClient(conf(acl_broker, "bob")).list_topics("hidden-1", timeout=30)
    assert md.topics["hidden-1"].error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    md = AdminClient(conf(acl_broker, "bob")).list_topics("no-such-topic", timeout=30)
    assert md.topics["no-such-topic"].error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_deny_wins_and_acls_can_be_listed_and_deleted(acl_broker):
    create_topics(acl_broker, "shared-1")
    create_acls(acl_broker, [
        allow(ResourceType.TOPIC, "*", "User:*", AclOperation.WRITE),
        allow(ResourceType.TOPIC, "shared-1", "User:bob", AclOperation.WRITE,
              permission=AclPermissionType.DENY)])
    assert produce(acl_broker, "alice", "shared-1") is None
    assert produce(acl_broker, "bob", "shared-1").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    admin = AdminClient(conf(acl_broker, "admin"))
    bob_acls = admin.describe_acls(AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, "User:bob", None, AclOperation.ANY,
        AclPermissionType.DENY)).result(30)
    assert [(a.name, a.operation) for a in bob_acls] == [("shared-1", AclOperation.WRITE)]
    matching = admin.describe_acls(AclBindingFilter(
        ResourceType.TOPIC, "shared-1", ResourcePatternType.MATCH, None, None,
        AclOperation.ANY, AclPermissionType.ANY)).result(30)
    assert {a.name for a in matching} == {"*", "shared-1"}
    [deleted] = admin.delete_acls([AclBindingFilter(
        ResourceType.TOPIC, None, ResourcePatternType.ANY, "User:*", None, AclOperation.WRITE,
        AclPermissionType.ALLOW)]).values()
    assert [a.name for a in deleted.result(30)] == ["*"]
    assert produce(acl_broker, "alice", "shared-1").code() == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED)


def test_acl_apis_need_cluster_rights(acl_broker):
    admin = AdminClient(conf(acl_broker, "bob"))
    futures = admin.create_acls([allow(ResourceType.TOPIC, "x", "User:bob", AclOperation.ALL)])
    with pytest.raises(KafkaException) as info:
        next(iter(futures.values())).result(30)
    assert info.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    # librdkafka turns DescribeAcls' CLUSTER_AUTHORIZATION_FAILED into an empty list;
    # kafka-python raises it.
    assert admin.describe_acls(AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
        AclPermissionType.ANY)).result(30) == []
    from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ResourcePatternFilter
    from kafka.admin import ACLResourcePatternType as Pattern
    from kafka.admin import ResourceType as KpResource

    kp_admin = kafka.KafkaAdminClient(**kp_conf(acl_broker, "bob"))
    with pytest.raises(kafka.errors.ClusterAuthorizationFailedError):
        kp_admin.describe_acls(ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                         ResourcePatternFilter(KpResource.ANY, None, Pattern.ANY)))
    kp_admin.close()
    # Creating topics needs CREATE on the cluster or the topic.
    [future] = admin.create_topics([NewTopic("bob-new", 1)]).values()
    with pytest.raises(KafkaException) as info:
        future.result(30)
    assert info.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_acls_with_kafka_python_admin(acl_broker):
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ResourcePattern,
        ResourcePatternFilter,
    )
    from kafka.admin import ACLResourcePatternType as Pattern
    from kafka.admin import ResourceType as KpResource

    admin = kafka.KafkaAdminClient(**kp_conf(acl_broker, "admin"))
    pattern = ResourcePattern(KpResource.TOPIC, "kp-", Pattern.PREFIXED)
    acl = ACL("User:alice", "*", ACLOperation.READ, ACLPermissionType.ALLOW, pattern)
    result = admin.create_acls([acl])
    assert result["failed"] == [] and len(result["succeeded"]) == 1
    flt = ACLFilter("User:alice", None, ACLOperation.ANY, ACLPermissionType.ANY,
                    ResourcePatternFilter(KpResource.TOPIC, "kp-", Pattern.PREFIXED))
    acls, error = admin.describe_acls(flt)
    assert [a.resource_pattern.resource_name for a in acls] == ["kp-"]
    [(_, matched, _)] = admin.delete_acls([flt])
    assert len(matched) == 1
    admin.close()


def test_idempotent_producer_needs_write_somewhere(make_broker):
    b = make_broker(config=broker_config())
    create_topics(b, "idem-1")
    errors = []
    p = Producer({**conf(b, "bob"), "enable.idempotence": True, "error_cb": errors.append})
    p.produce("idem-1", b"x")
    deadline = time.monotonic() + 30
    while not any(e.code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED for e in errors):
        assert time.monotonic() < deadline, errors
        try:
            p.poll(0.2)
        except KafkaException as exc:  # the fatal error, raised from poll
            errors.append(exc.args[0])
    create_acls(b, [allow(ResourceType.TOPIC, "idem-1", "User:alice", AclOperation.WRITE)])
    p = Producer({**conf(b, "alice"), "enable.idempotence": True})
    p.produce("idem-1", b"ok")
    assert p.flush(30) == 0


def test_allow_everyone_if_no_acl_found_and_acls_survive_restarts(make_broker):
    b = make_broker(config=broker_config(**{"allow.everyone.if.no.acl.found": "true"}))
    create_topics(b, "open-1", "closed-1")
    create_acls(b, [allow(ResourceType.TOPIC, "closed-1", "User:alice", AclOperation.WRITE)])
    assert produce(b, "bob", "open-1") is None  # no ACL at all on open-1
    assert produce(b, "bob", "closed-1").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    b.restart()
    assert produce(b, "bob", "closed-1").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert produce(b, "alice", "closed-1") is None


def test_acl_apis_without_an_authorizer(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    futures = admin.create_acls([allow(ResourceType.TOPIC, "x", "User:bob", AclOperation.ALL)])
    with pytest.raises(KafkaException) as info:
        next(iter(futures.values())).result(30)
    assert info.value.args[0].code() == KafkaError.SECURITY_DISABLED
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    with pytest.raises(KafkaException) as info:
        next(iter(admin.delete_acls([everything]).values())).result(30)
    assert info.value.args[0].code() == KafkaError.SECURITY_DISABLED
    # librdkafka hands DescribeAcls' top-level error to nobody: read it on the wire.
    from tests.support.wire import WireClient, request_class

    client = WireClient(broker.bootstrap_servers)
    try:
        resp = client.request(request_class(29, 3)(
            resource_type_filter=1, resource_name_filter=None, pattern_type_filter=1,
            principal_filter=None, host_filter=None, operation=1, permission_type=1))
    finally:
        client.close()
    assert (resp.error_code, resp.error_message, resp.resources) == (
        54, "No Authorizer is configured on the broker", ())  # SECURITY_DISABLED, as Kafka


def test_authorized_operations_come_from_the_acls(acl_broker):
    create_acls(acl_broker, [allow(ResourceType.GROUP, "ops-g", "User:alice",
                                   AclOperation.READ)])
    admin = AdminClient(conf(acl_broker, "admin"))
    ops = admin.describe_cluster(include_authorized_operations=True).result(30)
    assert {AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CREATE} <= set(
        ops.authorized_operations)
    bob = AdminClient(conf(acl_broker, "bob"))
    assert not bob.describe_cluster(include_authorized_operations=True).result(
        30).authorized_operations
    alice = AdminClient(conf(acl_broker, "alice"))
    [future] = alice.describe_consumer_groups(["ops-g"],
                                              include_authorized_operations=True).values()
    assert set(future.result(30).authorized_operations) == {AclOperation.READ,
                                                            AclOperation.DESCRIBE}


def test_describe_log_dirs_needs_describe_on_the_cluster(acl_broker):
    from kafka.admin import KafkaAdminClient

    create_topics(acl_broker, "sized")
    for user, allowed in (("alice", False), ("admin", True)):
        admin = KafkaAdminClient(**kp_conf(acl_broker, user))
        try:
            (described,) = admin.describe_log_dirs()
        finally:
            admin.close()
        if allowed:
            assert "sized" in [t["name"] for d in described["log_dirs"] for t in d["topics"]]
        else:
            assert described["log_dirs"] == []


def _authenticated_wire_client(broker, user: str):
    from tests.support.wire import WireClient, request_class

    client = WireClient(broker.bootstrap_servers)
    assert client.request(request_class(17, 1)(mechanism="PLAIN")).error_code == 0
    token = b"\x00%s\x00%s" % (user.encode(), USERS[user].encode())
    assert client.request(request_class(36, 2)(auth_bytes=token)).error_code == 0
    return client


def test_describe_producers_and_log_dirs_errors_without_rights(acl_broker):
    from tests.support.wire import request_class

    create_topics(acl_broker, "guarded")
    client = _authenticated_wire_client(acl_broker, "bob")
    try:
        cls = request_class(61, 0)
        topic_cls = cls.__dataclass_fields__["topics"].type.__args__[0]
        (topic,) = client.request(cls(topics=(
            topic_cls(name="guarded", partition_indexes=(0,)),))).topics
        (part,) = topic.partitions
        assert (part.error_code, part.error_message) == (
            29, "Topic authorization failed.")  # TOPIC_AUTHORIZATION_FAILED
        resp = client.request(request_class(35, 4)(topics=None))
        assert (resp.error_code, resp.results) == (31, ())  # CLUSTER_AUTHORIZATION_FAILED
        (state,) = client.request(request_class(65, 0)(transactional_ids=("tx-bob",))
                                  ).transaction_states
        assert state.error_code == 53  # TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    finally:
        client.close()
