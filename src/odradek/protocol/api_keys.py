"""Kafka API keys, named like Apache Kafka's `ApiKeys` enum (PRODUCE, FETCH, ...)."""

from __future__ import annotations

import enum

from kio.schema.index import api_key_map

ApiKey = enum.IntEnum("ApiKey", {name.upper(): key for key, name in api_key_map.items()})
ApiKey.__doc__ = "Every API key kio knows (generated from Kafka's message schemas)."
