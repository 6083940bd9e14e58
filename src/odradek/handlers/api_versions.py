"""ApiVersions: v0-4

* v0: the table of API keys with their version ranges
* v1: throttle_time
* v3: flexible; client software name/version (ignored); supported/finalized features
  (none advertised, and tagged fields at their defaults are not written: librdkafka < 2.2
  mis-parses them)
* v4: no change on the broker side

A request of a version we do not serve gets a v0-format answer with UNSUPPORTED_VERSION and
the table, so the client can retry with a version we know (KIP-511).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.build import build_response
from ..protocol.errors import ErrorCode
from .context import RequestContext
from .registry import HANDLERS, handler


def api_table() -> list[dict]:
    return [
        {"api_key": key, "min_version": spec.advertised_min, "max_version": spec.max_version}
        for key, spec in sorted(HANDLERS.items())
    ]


@handler(ApiKey.API_VERSIONS, versions=(0, 4))
def handle_api_versions(ctx: RequestContext, request) -> object:
    if request is None:  # unsupported version: see the module docstring
        return build_response(ApiKey.API_VERSIONS, 0, {
            "error_code": ErrorCode.unsupported_version, "api_keys": api_table()})
    return ctx.response(error_code=ErrorCode.none, api_keys=api_table())
