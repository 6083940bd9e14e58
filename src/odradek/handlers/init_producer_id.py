"""InitProducerId: v0-6

* v0: a producer id and epoch for an idempotent producer (transactional_id null)
* v2: flexible
* v3: producer_id / producer_epoch in the request (KIP-360 epoch bump); an idempotent
  producer simply gets a fresh id, as Kafka gives it
* v5-6: KIP-890 / KIP-939 fields (transactions only)

Transactional producers (transactional_id set) are not supported yet: they get
TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients treat as fatal with a clear message,
rather than a retriable error they would loop on.

With an authorizer, an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on
at least one topic (CLUSTER_AUTHORIZATION_FAILED), as in Kafka.
"""

from __future__ import annotations

import logging

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

log = logging.getLogger("odradek.handlers")


@handler(ApiKey.INIT_PRODUCER_ID, versions=(0, 6))
def handle_init_producer_id(ctx: RequestContext, request):
    if request.transactional_id is not None:
        log.warning("client %s asked for transactional id %r: transactions are not supported",
                    ctx.header.client_id, request.transactional_id)
        return ctx.response(error_code=ErrorCode.transactional_id_authorization_failed,
                            producer_id=-1, producer_epoch=-1, ongoing_txn_producer_id=-1,
                            ongoing_txn_producer_epoch=-1)
    if not ctx.authorize(Op.IDEMPOTENT_WRITE, Res.CLUSTER) and not ctx.authorize_any(
            Op.WRITE, Res.TOPIC):
        return ctx.response(error_code=ErrorCode.cluster_authorization_failed, producer_id=-1,
                            producer_epoch=-1, ongoing_txn_producer_id=-1,
                            ongoing_txn_producer_epoch=-1)
    return ctx.response(error_code=ErrorCode.none, producer_id=ctx.broker.next_producer_id(),
                        producer_epoch=0, ongoing_txn_producer_id=-1,
                        ongoing_txn_producer_epoch=-1)
