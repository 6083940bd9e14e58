"""What a handler knows about the request it serves, and helpers to answer it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..broker.core import BrokerCore
from ..protocol.build import build_response
from ..protocol.headers import RequestHeader
from ..security.acl import CLUSTER_NAME, SUPPORTED_OPERATIONS, operations_bitfield
from ..security.principal import ANONYMOUS, KafkaPrincipal
from ..security.session import Session


@dataclass(slots=True)
class RequestContext:
    broker: BrokerCore
    header: RequestHeader
    client_host: str
    client_port: int
    # The connection's security state: listener, principal, SASL progress (None: a plaintext
    # connection of the default listener, principal User:ANONYMOUS).
    session: Session | None = None

    @property
    def version(self) -> int:
        return self.header.api_version

    def response(self, **values: Any) -> Any:
        """A kio response of the request's version from plain values (newest fields)."""
        values.setdefault("throttle_time", 0)
        return build_response(self.header.api_key, self.header.api_version, values)

    # ------------------------------------------------------------------ listener

    @property
    def endpoint(self) -> tuple[str, int]:
        """The advertised host and port of the listener this request came in on (Kafka
        answers Metadata, FindCoordinator and DescribeCluster per listener)."""
        listener = self.session.listener if self.session is not None else None
        if listener is None:
            return self.broker.advertised_host, self.broker.advertised_port
        return listener.endpoint

    # ------------------------------------------------------------------ authorization

    @property
    def principal(self) -> KafkaPrincipal:
        return self.session.principal if self.session is not None else ANONYMOUS

    def authorize(self, operation: int, resource_type: int, name: str = CLUSTER_NAME) -> bool:
        """May this connection's principal do `operation` on the resource? Always True
        without an authorizer (`authorizer.class.name` unset)."""
        authorizer = self.broker.authorizer
        if authorizer is None:
            return True
        return authorizer.authorize(self.principal, self.client_host, operation,
                                    resource_type, name)

    def authorized(self, operation: int, resource_type: int, names: Iterable[str]) -> set[str]:
        """The names among `names` the principal may do `operation` on."""
        names = set(names)
        if self.broker.authorizer is None:
            return names
        return {n for n in names if self.authorize(operation, resource_type, n)}

    def authorize_any(self, operation: int, resource_type: int) -> bool:
        """May the principal do `operation` on at least one resource of this type?"""
        authorizer = self.broker.authorizer
        if authorizer is None:
            return True
        return authorizer.authorize_by_resource_type(self.principal, self.client_host,
                                                     operation, resource_type)

    def authorized_operations(self, resource_type: int, name: str = CLUSTER_NAME) -> int:
        """The authorized-operations bit field of Metadata, DescribeGroups, ..."""
        authorizer = self.broker.authorizer
        if authorizer is None:
            return operations_bitfield(SUPPORTED_OPERATIONS[resource_type])
        return authorizer.authorized_operations(self.principal, self.client_host,
                                                resource_type, name)
