"""DescribeTransactions: v0

This broker has no transactions yet, so every transactional id is
TRANSACTIONAL_ID_NOT_FOUND (after Kafka's check of DESCRIBE on the id:
TRANSACTIONAL_ID_AUTHORIZATION_FAILED), with the other fields at their defaults, as Kafka's
coordinator answers an id it does not know.
"""

from __future__ import annotations

import datetime

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

_EPOCH = datetime.datetime.fromtimestamp(0, datetime.UTC)


@handler(ApiKey.DESCRIBE_TRANSACTIONS, versions=(0, 0))
def handle_describe_transactions(ctx: RequestContext, request):
    states = []
    for transactional_id in request.transactional_ids:
        allowed = ctx.authorize(Op.DESCRIBE, Res.TRANSACTIONAL_ID, transactional_id)
        states.append({
            "error_code": (ErrorCode.transactional_id_not_found if allowed
                           else ErrorCode.transactional_id_authorization_failed),
            "transactional_id": transactional_id, "transaction_state": "",
            "transaction_timeout": datetime.timedelta(0), "transaction_start_time": _EPOCH,
            "producer_id": 0, "producer_epoch": 0, "topics": []})
    return ctx.response(transaction_states=states)
