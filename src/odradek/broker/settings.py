"""How a broker is started: listener address, data dir, and Kafka-named static configs.

Static configs use Apache Kafka's server.properties names (`auto.create.topics.enable`,
`log.retention.hours`, ...). They may come from a `.properties` file or an `odradek.toml`
(flat keys; dotted Kafka names may be written as nested tables or quoted keys), which also
holds odradek's own options (`host`, `port`, `data_dir`, `metrics_port`, `console_port`, ...,
see OWN_OPTIONS). `ODRADEK_*` environment variables override the file: `ODRADEK_PORT=9093`,
`ODRADEK_DATA_DIR=/data`, and Kafka names with dots as underscores
(`ODRADEK_NUM_PARTITIONS=3` for `num.partitions`). Command-line flags override both.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .configs import BROKER_CONFIGS, ConfigError, is_sensitive

# Options that are odradek's own rather than Kafka broker configs, with their types.
OWN_OPTIONS: dict[str, type] = {
    "host": str, "port": int, "data_dir": Path, "advertised_host": str, "advertised_port": int,
    "log_level": str, "metrics_host": str, "metrics_port": int, "console_host": str,
    "console_port": int,
}
_OWN_OPTIONS = set(OWN_OPTIONS)
# Options of the client commands (`odradek topic ...`); they may sit in the same file.
CLIENT_OPTIONS: dict[str, type] = {"bootstrap_server": str, "output": str, "client_id": str,
                                   "timeout": float, "command_config": Path}
ENV_PREFIX = "ODRADEK_"


@dataclass
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 9092
    data_dir: Path = Path("odradek-data")
    advertised_host: str | None = None
    advertised_port: int | None = None
    # repr=False: values may be secrets (sasl.jaas.config, ssl.key.password, ...).
    properties: dict[str, str] = field(default_factory=dict, repr=False)
    log_level: str = "INFO"
    # HTTP listeners served on the broker's event loop; None: off. Hosts default to `host`.
    metrics_host: str | None = None
    metrics_port: int | None = None  # Prometheus /metrics
    console_host: str | None = None
    console_port: int | None = None  # web console

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        for name, value in self.properties.items():
            definition = BROKER_CONFIGS.get(name)
            if definition is not None:
                definition.parse(value)

    @property
    def node_id(self) -> int:
        return int(self.properties.get("node.id", self.properties.get("broker.id", "1")))

    @classmethod
    def from_file(cls, path: Path, **overrides) -> BrokerSettings:
        """Read a `.properties` or `.toml` file; keyword overrides win (CLI flags)."""
        return cls.from_values(read_config_file(path), **overrides)

    @classmethod
    def from_values(cls, values: dict, **overrides) -> BrokerSettings:
        """From flat file values (own options and Kafka names; client options are skipped);
        keyword overrides win (CLI flags; None means not given)."""
        own, props = {}, {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if name in OWN_OPTIONS:
                own[name] = _typed(name, OWN_OPTIONS[name], value)
            elif name not in CLIENT_OPTIONS:
                props[key] = config_string(value)
        own.update({k: v for k, v in overrides.items() if v is not None and k != "properties"})
        props.update(overrides.get("properties") or {})
        return cls(properties=props, **own)

    def to_toml(self) -> str:
        """These settings as an odradek.toml (`odradek serve --print-config`): every own option,
        then every Kafka broker config, set ones active and defaults commented out."""
        lines = ["# odradek.toml: odradek's own options"]
        for name in OWN_OPTIONS:
            value = getattr(self, name)
            if value is None:
                lines.append(f"# {name} =")
            else:
                lines.append(f"{name} = {_toml_value(value)}")
        lines += ["", "# Client commands (odradek topic|group|produce|consume|cluster)",
                  f'# bootstrap_server = "{self.advertised_host or self.host}:'
                  f'{self.advertised_port or self.port}"',
                  '# output = "table"', '# client_id = "odradek-cli"', "# timeout = 30.0",
                  '# command_config = "client.properties"  # TLS / SASL (Kafka client properties)']
        lines += ["", "# Kafka broker configs (server.properties names)"]
        for name in sorted(set(BROKER_CONFIGS) | set(self.properties)):
            if name in self.properties:
                value = "[hidden]" if is_sensitive(name) else self.properties[name]
                lines.append(f'"{name}" = {_toml_value(value)}')
            else:
                default = BROKER_CONFIGS[name].default
                lines.append(f'# "{name}" = {_toml_value(default)}' if default is not None
                             else f'# "{name}" =')
        return "\n".join(lines) + "\n"


def read_config_file(path: Path) -> dict:
    """Flat values of a `.toml` or `.properties` file."""
    path = Path(path)
    return _read_toml(path) if path.suffix == ".toml" else read_properties(path)


def env_values(environ) -> dict:
    """`ODRADEK_*` variables as config values: own and client options by name
    (`ODRADEK_DATA_DIR`), Kafka broker configs with dots as underscores
    (`ODRADEK_LOG_RETENTION_HOURS`). `ODRADEK_CONFIG` names the file and is not a value."""
    out = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name in OWN_OPTIONS or name in CLIENT_OPTIONS:
            out[name] = value
        elif name.replace("_", ".") in BROKER_CONFIGS:
            out[name.replace("_", ".")] = value
    return out


def _typed(name: str, kind: type, value):
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {kind.__name__}, got {value!r}") from None


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text in ("true", "false"):
        return text
    try:
        number = int(text)
    except ValueError:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(number) if abs(number) < 2**63 else f'"{text}"'


def config_string(value) -> str:
    """A config value as Kafka writes it (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_properties(path: Path) -> dict[str, str]:
    """A Java `.properties` file, as Kafka reads server.properties and client.properties:
    `name=value` or `name: value`, `#` / `!` comments, a trailing backslash continues the
    line (how long `sasl.jaas.config` values are usually written)."""
    logical: list[str] = []
    joining = False
    for raw in Path(path).read_text().splitlines():
        part = raw.strip()
        if joining:
            logical[-1] += part
        elif part and not part.startswith(("#", "!")):
            logical.append(part)
        else:
            continue
        # An odd number of trailing backslashes: the last one escapes the line end.
        joining = (len(logical[-1]) - len(logical[-1].rstrip("\\"))) % 2 == 1
        if joining:
            logical[-1] = logical[-1][:-1]
    values = {}
    for line in logical:
        sep = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if sep < 0:
            raise ConfigError(f"{path}: cannot parse line {line!r}")
        values[line[:sep].strip()] = line[sep + 1 :].strip()
    return values


def _read_toml(path: Path) -> dict:
    with path.open("rb") as f:
        data = tomllib.load(f)
    flat: dict = {}

    def walk(prefix: str, node: dict) -> None:
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            else:
                flat[name] = value

    walk("", data)
    return flat
