"""`odradek scram ...` online (AlterUserScramCredentials through a PLAINTEXT listener) and
offline (--data-dir, before the broker starts); `serve --print-config` hides secrets."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from tests.support.cli import run_cli

LISTENERS = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"


def scram_admin(broker, user: str, password: str, mechanism: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap("SASL_PLAINTEXT"),
                        "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
                        "sasl.username": user, "sasl.password": password})


def test_scram_users_online(make_broker, capsys, monkeypatch):
    b = make_broker(config={"listeners": LISTENERS})
    server = ["-b", b.bootstrap("PLAINTEXT")]
    r = run_cli(capsys, "scram", "set", "ann", "--iterations", "8192", *server,
                stdin=b"ann-pw-77d\n", monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    assert "ann-pw-77d" not in r.out + r.err
    r = run_cli(capsys, "scram", "list", *server, "--output", "json")
    assert r.json() == [{"user": "ann", "error": None, "credentials": [
        {"mechanism": "SCRAM-SHA-256", "iterations": 8192},
        {"mechanism": "SCRAM-SHA-512", "iterations": 8192}]}]
    for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        assert scram_admin(b, "ann", "ann-pw-77d", mechanism).list_topics(timeout=30).brokers
    r = run_cli(capsys, "scram", "delete", "ann", "--mechanism", "SCRAM-SHA-256", *server)
    assert r.code == 0, r.err
    r = run_cli(capsys, "scram", "list", "ann", "nobody", *server, "--output", "json")
    assert [(u["user"], len(u["credentials"]), u["error"] is None) for u in r.json()] == [
        ("ann", 1, True), ("nobody", 0, False)]
    r = run_cli(capsys, "scram", "set", "ann", "--iterations", "100", *server,
                stdin=b"x\n", monkeypatch=monkeypatch)
    assert r.code != 0


def test_scram_users_offline_before_the_broker_starts(make_broker, tmp_path, capsys,
                                                      monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    password_file = tmp_path / "pw"
    password_file.write_text("root-pw-91c\n")
    r = run_cli(capsys, "scram", "set", "root", "--mechanism", "SCRAM-SHA-512", "--data-dir",
                data, "--password-file", password_file)
    assert r.code == 0, r.err
    b = make_broker(data_dir=data, config={"listeners": LISTENERS,
                                           "authorizer.class.name": "acl",
                                           "super.users": "User:root"})
    admin = scram_admin(b, "root", "root-pw-91c", "SCRAM-SHA-512")
    assert admin.list_topics(timeout=30).brokers
    described = admin.describe_user_scram_credentials(["root"])["root"].result(30)
    assert [c.iterations for c in described.scram_credential_infos] == [4096]


def test_print_config_hides_secrets(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ODRADEK_CONFIG", raising=False)
    config = tmp_path / "server.properties"
    config.write_text(
        "listeners=SASL_PLAINTEXT://127.0.0.1:9094\n"
        "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common."
        'security.plain.PlainLoginModule required user_alice="jaas-secret-5e1";\n'
        "ssl.key.password=key-secret-2f8\n")
    r = run_cli(capsys, "serve", "--config", config, "--print-config")
    assert r.code == 0, r.err
    assert "jaas-secret-5e1" not in r.out and "key-secret-2f8" not in r.out
    assert '"ssl.key.password" = "[hidden]"' in r.out
    assert '"listeners" = "SASL_PLAINTEXT://127.0.0.1:9094"' in r.out


# --------------------------------------------------------------------------- the CLI as a client

ALICE_PW = "alice-pw-3e1"
BOB_PW = "bob-pw-9a2"
PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              f'user_alice="{ALICE_PW}";')


def test_cli_over_sasl_plain_and_scram(make_broker, capsys, monkeypatch, tmp_path, topic_name):
    b = make_broker(config={"listeners": "SASL_PLAINTEXT://127.0.0.1:0",
                            "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS})
    b.set_scram_credential("bob", BOB_PW, "SCRAM-SHA-512")
    server = ["-b", b.bootstrap("SASL_PLAINTEXT")]
    # librdkafka's names, one -X each.
    alice = [*server, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=PLAIN",
             "-X", "sasl.username=alice", "-X", f"sasl.password={ALICE_PW}"]
    r = run_cli(capsys, "topic", "create", topic_name, "-p", "2", *alice)
    assert r.code == 0, r.err
    r = run_cli(capsys, "produce", topic_name, *alice, stdin=b"one\ntwo\nthree\n",
                monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    # The Java client's client.properties, as given to Kafka's own tools.
    props = tmp_path / "client.properties"
    props.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                     "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                     f'required \\\n    username="bob" \\\n    password="{BOB_PW}";\n')
    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "-e", *server,
                "--command-config", props)
    assert r.code == 0, r.err
    assert sorted(r.out.split()) == ["one", "three", "two"]
    # The same file through ODRADEK_COMMAND_CONFIG.
    monkeypatch.setenv("ODRADEK_COMMAND_CONFIG", str(props))
    r = run_cli(capsys, "topic", "list", *server, "--output", "json")
    assert r.code == 0, r.err
    assert topic_name in [t["name"] for t in r.json()]


def test_cli_sasl_failures_are_clear_and_keep_secrets(make_broker, capsys):
    b = make_broker(config={"listeners": "SASL_PLAINTEXT://127.0.0.1:0",
                            "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
                            "sasl.enabled.mechanisms": "PLAIN"})
    server = ["-b", b.bootstrap("SASL_PLAINTEXT"), "--timeout", "10"]
    wrong = [*server, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=PLAIN",
             "-X", "sasl.username=alice", "-X", "sasl.password=not-the-pw-5c0"]
    r = run_cli(capsys, "cluster", "info", *wrong)
    assert r.code == 1
    assert "SASL_AUTHENTICATION_FAILED" in r.err
    assert "not-the-pw-5c0" not in r.out + r.err
    # A mechanism the listener does not enable: the broker says which ones it does.
    scram = [*server, "-X", "security.protocol=SASL_PLAINTEXT", "-X",
             "sasl.mechanism=SCRAM-SHA-256", "-X", "sasl.username=alice", "-X",
             f"sasl.password={ALICE_PW}"]
    r = run_cli(capsys, "cluster", "info", *scram)
    assert r.code == 1
    assert "UNSUPPORTED_SASL_MECHANISM" in r.err and "accepts PLAIN" in r.err
    # Plaintext to a SASL listener: the broker closes the connection; an error, not a hang.
    r = run_cli(capsys, "cluster", "info", *server)
    assert r.code == 1 and "closed" in r.err
    # Settings the client cannot use are refused before connecting.
    r = run_cli(capsys, "cluster", "info", *server, "-X", "security.protocol=SASL_PLAINTEXT")
    assert r.code == 1 and "sasl.username" in r.err
    r = run_cli(capsys, "cluster", "info", *server, "-X", "security.protocol=KERBEROS")
    assert r.code == 1 and "security.protocol" in r.err
