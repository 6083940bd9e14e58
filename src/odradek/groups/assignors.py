"""Broker-side assignors for KIP-848 consumer groups: "uniform" (the default) and "range".

Input: each member's subscribed topics, each topic's partition count, and the current target
assignment (for stickiness). Output: member -> {topic: [partitions]}.
"""

from __future__ import annotations

from collections.abc import Mapping

Assignment = dict[str, dict[str, list[int]]]


def uniform(subscriptions: Mapping[str, set[str]], partitions: Mapping[str, int],
            current: Mapping[str, Mapping[str, list[int]]]) -> Assignment:
    """Balanced and sticky: every member ends with as many partitions as it can fairly get,
    and a partition stays with its owner unless balance requires a move."""
    members = sorted(subscriptions)
    result: Assignment = {m: {} for m in members}
    counts = dict.fromkeys(members, 0)
    eligible_total = {m: sum(partitions.get(t, 0) for t in subscriptions[m]) for m in members}
    all_parts = sorted((t, p) for t in {t for s in subscriptions.values() for t in s}
                       for p in range(partitions.get(t, 0)))
    if not members:
        return result
    # A fair share: partitions divided by the members that can take them.
    quota = {m: -(-len(all_parts) // len(members)) if eligible_total[m] else 0 for m in members}
    assigned = set()
    for m in members:  # keep what members already have, up to their quota
        for t, parts in sorted(current.get(m, {}).items()):
            if t not in subscriptions[m]:
                continue
            for p in sorted(parts):
                if p < partitions.get(t, 0) and (t, p) not in assigned and counts[m] < quota[m]:
                    result[m].setdefault(t, []).append(p)
                    counts[m] += 1
                    assigned.add((t, p))
    for t, p in all_parts:  # the rest to the least loaded eligible member
        if (t, p) in assigned:
            continue
        candidates = [m for m in members if t in subscriptions[m]]
        if not candidates:
            continue
        m = min(candidates, key=lambda c: (counts[c], c))
        result[m].setdefault(t, []).append(p)
        counts[m] += 1
    for parts in result.values():
        for lst in parts.values():
            lst.sort()
    return result


def range_(subscriptions: Mapping[str, set[str]], partitions: Mapping[str, int],
           current: Mapping[str, Mapping[str, list[int]]]) -> Assignment:
    """Per topic, contiguous ranges of partitions to the members subscribed to it (sorted by
    member id), the first ones getting one extra when it does not divide evenly."""
    result: Assignment = {m: {} for m in subscriptions}
    for topic in sorted({t for s in subscriptions.values() for t in s}):
        count = partitions.get(topic, 0)
        members = sorted(m for m, s in subscriptions.items() if topic in s)
        if not members or not count:
            continue
        per, extra = divmod(count, len(members))
        start = 0
        for i, m in enumerate(members):
            n = per + (1 if i < extra else 0)
            if n:
                result[m][topic] = list(range(start, start + n))
            start += n
    return result


ASSIGNORS = {"uniform": uniform, "range": range_}
