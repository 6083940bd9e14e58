"""ListTransactions: v0-2

* v0: state and producer id filters
* v1: duration filter (KIP-994)
* v2: transactional id pattern (KIP-1152)

This broker has no transactions yet (a transactional InitProducerId is refused), so the list
is always empty: the true answer, for `kafka-transactions.sh list` and admin UIs, which
otherwise fail on an unsupported API. State filters Kafka does not know are returned as
unknown, as Kafka does.
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from .context import RequestContext
from .registry import handler

# Kafka's TransactionState names.
STATES = ("Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit",
          "CompleteAbort", "Dead", "PrepareEpochFence")


@handler(ApiKey.LIST_TRANSACTIONS, versions=(0, 2))
def handle_list_transactions(ctx: RequestContext, request):
    unknown = [state for state in request.state_filters if state not in STATES]
    return ctx.response(error_code=ErrorCode.none, unknown_state_filters=unknown,
                        transaction_states=[])
