"""ACLs with Apache Kafka's model, and the authorizer that applies them.

An ACL binding says: principal P from host H is ALLOWed / DENYed operation O on resources of
type T whose name is N (pattern LITERAL), starts with N (PREFIXED), or any name (LITERAL `*`).
Matching follows Kafka's StandardAuthorizer:

* super users (`super.users=User:admin;User:ops`) may do anything;
* the principal matches an ACL's principal or `User:*`; the client's IP its host or `*`;
* a matching DENY wins over any ALLOW; a DENY for one operation (or ALL) denies only that;
* an ALLOW for READ, WRITE, DELETE or ALTER implies DESCRIBE, and ALTER_CONFIGS implies
  DESCRIBE_CONFIGS (ALLOW only: a DENY READ does not deny DESCRIBE);
* when no ACL at all exists for the resource (any principal, any operation), the answer is
  `allow.everyone.if.no.acl.found` (false by default).

ACLs are kept in memory, indexed by resource, and persisted through the metadata store.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .principal import KafkaPrincipal


class ResourceType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclOperation(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class AclPermissionType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


CLUSTER_NAME = "kafka-cluster"
WILDCARD_RESOURCE = "*"
WILDCARD_PRINCIPAL = "User:*"
WILDCARD_HOST = "*"

Op = AclOperation
Res = ResourceType

# The operations reported in authorized-operations bit fields (Metadata, DescribeCluster,
# DescribeGroups, ...), as the broker reported them before there was an authorizer.
SUPPORTED_OPERATIONS: dict[ResourceType, tuple[AclOperation, ...]] = {
    Res.TOPIC: (Op.READ, Op.WRITE, Op.CREATE, Op.DELETE, Op.ALTER, Op.DESCRIBE,
                Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS),
    Res.GROUP: (Op.READ, Op.DELETE, Op.DESCRIBE),
    Res.CLUSTER: (Op.CREATE, Op.ALTER, Op.DESCRIBE, Op.CLUSTER_ACTION, Op.DESCRIBE_CONFIGS,
                  Op.ALTER_CONFIGS, Op.IDEMPOTENT_WRITE, Op.CREATE_TOKENS, Op.DESCRIBE_TOKENS),
    Res.TRANSACTIONAL_ID: (Op.DESCRIBE, Op.WRITE),
    Res.DELEGATION_TOKEN: (Op.DESCRIBE,),
    Res.USER: (Op.CREATE_TOKENS, Op.DESCRIBE_TOKENS),
}


def operations_bitfield(ops: Iterable[AclOperation]) -> int:
    return sum(1 << op for op in set(ops))


_IMPLIES_DESCRIBE = {Op.DESCRIBE, Op.READ, Op.WRITE, Op.DELETE, Op.ALTER}
_IMPLIES_DESCRIBE_CONFIGS = {Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS}


class AclError(ValueError):
    """An invalid ACL binding or filter (Kafka's INVALID_REQUEST)."""


@dataclass(frozen=True, slots=True)
class AclBinding:
    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    principal: str  # "User:alice"
    host: str
    operation: AclOperation
    permission_type: AclPermissionType

    def validate(self) -> None:
        """Kafka's AclControlManager.validateNewAcl (and the CLUSTER name check)."""
        if self.resource_type in (Res.UNKNOWN, Res.ANY):
            raise AclError(f"Invalid resourceType {self.resource_type.name}")
        if self.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
            raise AclError(f"Invalid patternType {self.pattern_type.name}")
        if self.operation in (Op.UNKNOWN, Op.ANY):
            raise AclError(f"Invalid operation {self.operation.name}")
        if self.permission_type not in (AclPermissionType.ALLOW, AclPermissionType.DENY):
            raise AclError(f"Invalid permissionType {self.permission_type.name}")
        if not self.resource_name:
            raise AclError("Resource name should not be empty")
        if self.resource_type == Res.CLUSTER and self.resource_name != CLUSTER_NAME:
            raise AclError(f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}")
        if ":" not in self.principal:
            raise AclError(f"Could not parse principal from `{self.principal}` (no colon is "
                           "present separating the principal type from the principal name)")

    def __str__(self) -> str:
        return (f"(pattern=({self.resource_type.name}, {self.resource_name!r}, "
                f"{self.pattern_type.name}), principal={self.principal}, host={self.host}, "
                f"operation={self.operation.name}, permission={self.permission_type.name})")


@dataclass(frozen=True, slots=True)
class AclBindingFilter:
    """A filter for DescribeAcls / DeleteAcls: None and ANY match everything; pattern type
    MATCH matches the ACLs that would apply to the named resource (literal, `*`, prefixes)."""

    resource_type: ResourceType = Res.ANY
    resource_name: str | None = None
    pattern_type: PatternType = PatternType.ANY
    principal: str | None = None
    host: str | None = None
    operation: AclOperation = Op.ANY
    permission_type: AclPermissionType = AclPermissionType.ANY

    def validate(self) -> None:
        for value in (self.resource_type, self.pattern_type, self.operation,
                      self.permission_type):
            if value == 0:
                raise AclError(f"Filter contains UNKNOWN elements: {value!r}")

    def matches(self, acl: AclBinding) -> bool:
        if self.resource_type != Res.ANY and self.resource_type != acl.resource_type:
            return False
        if self.pattern_type not in (PatternType.ANY, PatternType.MATCH) and (
                self.pattern_type != acl.pattern_type):
            return False
        if self.resource_name is not None:
            if self.pattern_type in (PatternType.ANY, acl.pattern_type):
                if self.resource_name != acl.resource_name:
                    return False
            elif acl.pattern_type == PatternType.LITERAL:  # MATCH
                if acl.resource_name not in (self.resource_name, WILDCARD_RESOURCE):
                    return False
            elif not self.resource_name.startswith(acl.resource_name):  # MATCH, PREFIXED
                return False
        if self.principal is not None and self.principal != acl.principal:
            return False
        if self.host is not None and self.host != acl.host:
            return False
        if self.operation != Op.ANY and self.operation != acl.operation:
            return False
        return self.permission_type in (AclPermissionType.ANY, acl.permission_type)


def _result(acl: AclBinding, principals: tuple[str, str], host: str,
            op: AclOperation) -> AclPermissionType | None:
    """ALLOW / DENY when `acl` applies to this principal, host and operation, else None.
    (StandardAuthorizerData.findResult; the resource name is already known to match.)"""
    if acl.principal not in principals:
        return None
    if acl.host != WILDCARD_HOST and acl.host != host:
        return None
    if acl.operation != Op.ALL:
        if acl.permission_type == AclPermissionType.ALLOW:
            if op == Op.DESCRIBE:
                if acl.operation not in _IMPLIES_DESCRIBE:
                    return None
            elif op == Op.DESCRIBE_CONFIGS:
                if acl.operation not in _IMPLIES_DESCRIBE_CONFIGS:
                    return None
            elif op != acl.operation:
                return None
        elif op != acl.operation:
            return None
    return acl.permission_type


def parse_super_users(value: str | None) -> frozenset[str]:
    """`super.users`: principals separated by semicolons (`User:admin;User:ops`)."""
    return frozenset(p.strip() for p in (value or "").split(";") if p.strip())


class AclAuthorizer:
    """Kafka's StandardAuthorizer semantics over ACLs held in memory.

    `store` (optional) persists changes: an object with `add_acls(list[AclBinding])` and
    `delete_acls(list[AclBinding])` (the metadata store)."""

    def __init__(self, super_users: Iterable[str] = (), allow_everyone_if_no_acl: bool = False,
                 acls: Iterable[AclBinding] = (), store=None) -> None:
        self.super_users = frozenset(super_users)
        self.allow_everyone_if_no_acl = allow_everyone_if_no_acl
        self.store = store
        self._acls: set[AclBinding] = set()
        self._literal: dict[tuple[ResourceType, str], list[AclBinding]] = defaultdict(list)
        self._prefixed: dict[ResourceType, list[AclBinding]] = defaultdict(list)
        for acl in acls:
            self._index(acl)

    # ------------------------------------------------------------------ the ACL set

    def _index(self, acl: AclBinding) -> None:
        self._acls.add(acl)
        if acl.pattern_type == PatternType.PREFIXED:
            self._prefixed[acl.resource_type].append(acl)
        else:
            self._literal[(acl.resource_type, acl.resource_name)].append(acl)

    def _unindex(self, acl: AclBinding) -> None:
        self._acls.discard(acl)
        if acl.pattern_type == PatternType.PREFIXED:
            self._prefixed[acl.resource_type].remove(acl)
        else:
            bucket = self._literal[(acl.resource_type, acl.resource_name)]
            bucket.remove(acl)
            if not bucket:
                del self._literal[(acl.resource_type, acl.resource_name)]

    def acls(self, flt: AclBindingFilter | None = None) -> list[AclBinding]:
        found = [a for a in self._acls if flt is None or flt.matches(a)]
        return sorted(found, key=_sort_key)

    def create_acls(self, bindings: list[AclBinding]) -> None:
        """Add valid bindings (call `validate()` first); existing ones are kept as they are."""
        new = [b for b in dict.fromkeys(bindings) if b not in self._acls]
        if not new:
            return
        if self.store is not None:
            self.store.add_acls(new)
        for b in new:
            self._index(b)

    def delete_acls(self, filters: list[AclBindingFilter]) -> list[list[AclBinding]]:
        """Delete what each filter matches; returns the matched bindings per filter."""
        matched = [self.acls(f) for f in filters]
        gone = list(dict.fromkeys(b for group in matched for b in group))
        if gone:
            if self.store is not None:
                self.store.delete_acls(gone)
            for b in gone:
                self._unindex(b)
        return matched

    # ------------------------------------------------------------------ decisions

    def _candidates(self, resource_type: ResourceType, name: str) -> list[AclBinding]:
        found = list(self._literal.get((resource_type, name), ()))
        if name != WILDCARD_RESOURCE:
            found += self._literal.get((resource_type, WILDCARD_RESOURCE), ())
        found += [a for a in self._prefixed.get(resource_type, ())
                  if name.startswith(a.resource_name)]
        return found

    def authorize(self, principal: KafkaPrincipal, host: str, op: AclOperation,
                  resource_type: ResourceType, name: str) -> bool:
        who = str(principal)
        if who in self.super_users:
            return True
        principals = (who, WILDCARD_PRINCIPAL)
        found = allowed = False
        for acl in self._candidates(resource_type, name):
            found = True
            result = _result(acl, principals, host, op)
            if result == AclPermissionType.DENY:
                return False
            if result == AclPermissionType.ALLOW:
                allowed = True
        return allowed or (not found and self.allow_everyone_if_no_acl)

    def authorize_by_resource_type(self, principal: KafkaPrincipal, host: str,
                                   op: AclOperation, resource_type: ResourceType) -> bool:
        """May the principal do `op` on at least one resource of the type? (Kafka's
        Authorizer.authorizeByResourceType, used by InitProducerId: WRITE on any topic.)"""
        if self.authorize(principal, host, op, resource_type, "hardcode"):
            return True
        who = str(principal)
        deny: dict[PatternType, set[str]] = {PatternType.LITERAL: set(),
                                             PatternType.PREFIXED: set()}
        allow: dict[PatternType, set[str]] = {PatternType.LITERAL: set(),
                                              PatternType.PREFIXED: set()}
        for acl in self._acls:
            if acl.resource_type != resource_type:
                continue
            if acl.host not in (host, WILDCARD_HOST):
                continue
            if acl.principal not in (who, WILDCARD_PRINCIPAL):
                continue
            if acl.operation not in (op, Op.ALL):
                continue
            if acl.permission_type == AclPermissionType.DENY:
                if (acl.pattern_type == PatternType.LITERAL
                        and acl.resource_name == WILDCARD_RESOURCE):
                    return False
                deny[acl.pattern_type].add(acl.resource_name)
            elif acl.pattern_type == PatternType.LITERAL and (
                    acl.resource_name == WILDCARD_RESOURCE):
                return True
            else:
                allow[acl.pattern_type].add(acl.resource_name)
        for pattern_type, names in allow.items():
            for name in names:
                if pattern_type == PatternType.LITERAL and name in deny[PatternType.LITERAL]:
                    continue
                if not any(name[:i] in deny[PatternType.PREFIXED]
                           for i in range(1, len(name) + 1)):
                    return True
        return False

    def authorized_operations(self, principal: KafkaPrincipal, host: str,
                              resource_type: ResourceType, name: str) -> int:
        return operations_bitfield(
            op for op in SUPPORTED_OPERATIONS[resource_type]
            if self.authorize(principal, host, op, resource_type, name))


def _sort_key(acl: AclBinding) -> tuple:
    return (acl.resource_type, acl.resource_name, acl.pattern_type, acl.principal, acl.host,
            acl.operation, acl.permission_type)
