"""Where each API's handler registers itself, with the version range it serves.

ApiVersions is built from this table, so what the broker advertises cannot drift from what
its handlers serve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..protocol.api_keys import ApiKey


@dataclass(frozen=True)
class HandlerSpec:
    api_key: ApiKey
    min_version: int
    max_version: int
    func: Callable
    # Versions below min_version advertised anyway, as Kafka 4 does for Produce v0-2: old
    # librdkafka disables compression when Produce v0 is missing. Such requests get
    # UNSUPPORTED_VERSION.
    advertised_min: int
    # Raw handlers receive the undecoded body (hot paths with hand-written codecs).
    raw: bool


HANDLERS: dict[int, HandlerSpec] = {}


def handler(api_key: ApiKey, versions: tuple[int, int], *, advertise_from: int | None = None,
            raw: bool = False) -> Callable[[Callable], Callable]:
    def register(func: Callable) -> Callable:
        low, high = versions
        HANDLERS[api_key] = HandlerSpec(api_key, low, high, func,
                                        low if advertise_from is None else advertise_from, raw)
        return func

    return register
