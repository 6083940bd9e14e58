"""ListTransactions: v0-2

* v0: state and producer id filters
* v1: duration filter (KIP-994)
* v2: transactional id pattern (KIP-1152)

This broker has no transactions yet (a transactional InitProducerId is refused), so the list
is always empty: the true answer, for `kafka-transactions.sh list` and admin UIs, which
otherwise fail on an unsupported API. As Kafka 4.4 answers: state filters it does not know
come back as unknown, and a pattern that is not a regular expression is
INVALID_REGULAR_EXPRESSION.
"""

from __future__ import annotations

import re

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from .context import RequestContext
from .registry import handler

# Kafka's TransactionState names.
STATES = ("Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit",
          "CompleteAbort", "Dead", "PrepareEpochFence")


@handler(ApiKey.LIST_TRANSACTIONS, versions=(0, 2))
def handle_list_transactions(ctx: RequestContext, request):
    pattern = getattr(request, "transactional_id_pattern", None)
    if pattern:
        try:
            re.compile(pattern)
        except re.error:
            return ctx.response(error_code=ErrorCode.invalid_regular_expression,
                                unknown_state_filters=[], transaction_states=[])
    unknown = [state for state in request.state_filters if state not in STATES]
    return ctx.response(error_code=ErrorCode.none, unknown_state_filters=unknown,
                        transaction_states=[])
