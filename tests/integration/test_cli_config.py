"""odradek.toml, ODRADEK_* overrides and `odradek serve --print-config`."""

from __future__ import annotations

import tomllib

from tests.support.cli import run_cli


def test_print_config_flags_over_env_over_file(tmp_path, capsys, monkeypatch):
    config = tmp_path / "odradek.toml"
    config.write_text('port = 9100\ndata_dir = "/srv/odr"\nmetrics_port = 9300\n'
                      'console_port = 8080\nlog_level = "DEBUG"\n'
                      'bootstrap_server = "ignored.by.serve:1"\n'
                      '"num.partitions" = 2\n[log]\nretention.hours = 12\n')
    monkeypatch.setenv("ODRADEK_PORT", "9200")
    monkeypatch.setenv("ODRADEK_NUM_PARTITIONS", "4")
    monkeypatch.setenv("ODRADEK_CONSOLE_HOST", "0.0.0.0")
    monkeypatch.setenv("ODRADEK_NOT_A_CONFIG", "x")
    r = run_cli(capsys, "serve", "--config", config, "--print-config", "--metrics-port",
                "9400", "-o", "log.segment.bytes=1048576")
    assert r.code == 0, r.err
    printed = tomllib.loads(r.out)  # it is a valid odradek.toml
    assert printed["port"] == 9200  # env over file
    assert printed["metrics_port"] == 9400  # flag over file
    assert printed["console_port"] == 8080 and printed["console_host"] == "0.0.0.0"
    assert printed["data_dir"] == "/srv/odr" and printed["log_level"] == "DEBUG"
    assert printed["num.partitions"] == 4  # env over file
    assert printed["log.retention.hours"] == 12
    assert printed["log.segment.bytes"] == 1048576
    assert "bootstrap_server" not in printed and "not.a.config" not in printed
    assert '# "auto.create.topics.enable" = true' in r.out  # defaults listed, commented
    assert "# bootstrap_server =" in r.out


def test_print_config_defaults(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run_cli(capsys, "serve", "--print-config")
    printed = tomllib.loads(r.out)
    assert printed == {"host": "127.0.0.1", "port": 9092, "data_dir": "odradek-data",
                       "log_level": "INFO"}


def test_bad_config_is_reported(tmp_path, capsys):
    config = tmp_path / "odradek.toml"
    config.write_text('port = "not a port"\n')
    r = run_cli(capsys, "serve", "--config", config, "--print-config")
    assert r.code == 2 and "bad configuration" in r.err
    config.write_text('"num.partitions" = "many"\n')
    r = run_cli(capsys, "serve", "--config", config, "--print-config")
    assert r.code == 2 and "num.partitions" in r.err


def test_client_commands_read_the_file_and_environment(broker, topic_name, tmp_path, capsys,
                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    # ./odradek.toml written for `odradek serve` tells the client where the broker is.
    (tmp_path / "odradek.toml").write_text(f'port = {broker.port}\noutput = "json"\n')
    assert run_cli(capsys, "topic", "create", topic_name).code == 0
    listed = run_cli(capsys, "topic", "list").json()
    assert topic_name in [t["name"] for t in listed]
    # ODRADEK_BOOTSTRAP_SERVER wins over the file, flags over both.
    monkeypatch.setenv("ODRADEK_BOOTSTRAP_SERVER", "127.0.0.1:1")
    monkeypatch.setenv("ODRADEK_TIMEOUT", "2")
    assert run_cli(capsys, "topic", "list").code == 1
    r = run_cli(capsys, "topic", "list", "-b", broker.bootstrap_servers, "--output", "table")
    assert r.code == 0 and r.out.startswith("NAME")
    other = tmp_path / "other.toml"
    other.write_text(f'bootstrap_server = "{broker.bootstrap_servers}"\n')
    monkeypatch.delenv("ODRADEK_BOOTSTRAP_SERVER")
    monkeypatch.setenv("ODRADEK_CONFIG", str(other))
    assert run_cli(capsys, "topic", "list").code == 0
    assert run_cli(capsys, "topic", "list", "--config-file", tmp_path / "odradek.toml",
                   "--output", "json").code == 0
