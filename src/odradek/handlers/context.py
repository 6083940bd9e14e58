"""What a handler knows about the request it serves, and helpers to answer it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..broker.core import BrokerCore
from ..protocol.build import build_response
from ..protocol.headers import RequestHeader


@dataclass(slots=True)
class RequestContext:
    broker: BrokerCore
    header: RequestHeader
    client_host: str
    client_port: int

    @property
    def version(self) -> int:
        return self.header.api_version

    def response(self, **values: Any) -> Any:
        """A kio response of the request's version from plain values (newest fields)."""
        values.setdefault("throttle_time", 0)
        return build_response(self.header.api_key, self.header.api_version, values)
