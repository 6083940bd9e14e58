"""How a broker is started: listener address, data dir, and Kafka-named static configs.

Static configs use Apache Kafka's server.properties names (`auto.create.topics.enable`,
`log.retention.hours`, ...). They may come from a `.properties` file or an `odradek.toml`
(flat keys; dotted Kafka names may be written as nested tables or quoted keys).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .configs import BROKER_CONFIGS, ConfigError

# Options that are odradek's own rather than Kafka broker configs.
_OWN_OPTIONS = {"host", "port", "data_dir", "advertised_host", "advertised_port"}


@dataclass
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 9092
    data_dir: Path = Path("odradek-data")
    advertised_host: str | None = None
    advertised_port: int | None = None
    properties: dict[str, str] = field(default_factory=dict)

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
        values = _read_toml(path) if path.suffix == ".toml" else _read_properties(path)
        own = {k.replace("-", "_"): v for k, v in values.items() if k.replace("-", "_")
               in _OWN_OPTIONS}
        props = {k: config_string(v) for k, v in values.items() if k.replace("-", "_")
                 not in _OWN_OPTIONS}
        own.update({k: v for k, v in overrides.items() if v is not None and k != "properties"})
        props.update(overrides.get("properties") or {})
        return cls(properties=props, **own)


def config_string(value) -> str:
    """A config value as Kafka writes it (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_properties(path: Path) -> dict[str, str]:
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        sep = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if sep < 0:
            raise ConfigError(f"{path}: cannot parse line {raw!r}")
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
