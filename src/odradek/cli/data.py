"""`odradek produce TOPIC` (lines from stdin) and `odradek consume TOPIC` (like kcat -C)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime
import json
import sys

from .common import (
    CommandError,
    Progress,
    add_client_options,
    client_for,
    parse_key_values,
    run,
)


def add_parsers(commands) -> None:
    p = commands.add_parser("produce", help="write lines from stdin to a topic, one record "
                            "each")
    p.add_argument("topic")
    p.add_argument("-K", "--key-separator", metavar="SEP",
                   help="split each line at the first SEP into key and value")
    p.add_argument("-H", "--header", action="append", default=[], metavar="NAME=VALUE",
                   help="a header added to every record (repeatable)")
    p.add_argument("-p", "--partition", type=int,
                   help="write to this partition (default: by key, like the Java client)")
    p.add_argument("-z", "--compression", default="none",
                   choices=("none", "gzip", "snappy", "lz4", "zstd"))
    p.add_argument("--delimiter", default="\\n",
                   help="record delimiter in the input (default: newline)")
    p.add_argument("--batch-size", type=int, default=1000, help="records per batch (1000)")
    add_client_options(p)
    p.set_defaults(func=produce)

    p = commands.add_parser("consume", help="print records of a topic (like kcat -C)")
    p.add_argument("topic")
    p.add_argument("-g", "--group", help="consume as a member of this consumer group, "
                   "committing offsets")
    p.add_argument("--group-protocol", choices=("consumer", "classic"),
                   help="consumer (KIP-848; the default where the broker has it) or classic "
                   "(JoinGroup/SyncGroup with the range assignor: brokers before Kafka 4, "
                   "groups of classic members)")
    p.add_argument("--from-beginning", action="store_true",
                   help="start at the earliest offset when there is no committed one")
    p.add_argument("-o", "--offset", metavar="WHERE",
                   help="beginning | end | stored | N (absolute) | -N (N before the end) | "
                   "s@MS (first record at or after a timestamp)")
    p.add_argument("-p", "--partition", type=int, action="append",
                   help="only this partition (repeatable; default: all)")
    p.add_argument("-c", "--max", type=int, metavar="N", help="exit after N records")
    p.add_argument("-e", "--exit-at-end", action="store_true",
                   help="exit when the end of every partition is reached")
    p.add_argument("-f", "--format", metavar="FMT",
                   help="kcat-style format: %%t topic, %%p partition, %%o offset, %%T "
                   "timestamp, %%k key, %%s value, %%h headers, %%K/%%S key/value "
                   "length, \\n \\t (default: %%s\\n)")
    add_client_options(p)
    p.set_defaults(func=consume)


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r").replace(
        "\\0", "\0")


# --------------------------------------------------------------------------- produce


def produce(args: argparse.Namespace) -> int:
    from ..client import Producer

    headers = [(k, v.encode()) for k, v in parse_key_values(args.header, "--header").items()]
    delimiter = _unescape(args.delimiter).encode()
    separator = _unescape(args.key_separator).encode() if args.key_separator else None
    progress = Progress("produced", args.quiet)
    stdin = sys.stdin.buffer

    async def go():
        loop = asyncio.get_running_loop()
        async with client_for(args) as client:
            producer = await Producer(client, args.topic, partition=args.partition,
                                      batch_records=args.batch_size,
                                      compression=args.compression).start()
            rest = b""
            while True:
                chunk = await loop.run_in_executor(None, _read_chunk, stdin)
                if not chunk:
                    break
                lines = (rest + chunk).split(delimiter)
                rest = lines.pop()
                for line in lines:
                    await _send_line(producer, line, separator, headers, progress)
                await producer.send_pending()
            if rest:
                await _send_line(producer, rest, separator, headers, progress)
            await producer.flush()
        return progress.count

    count = run(go())
    progress.done()
    if args.output == "json":
        print(json.dumps({"topic": args.topic, "records": count, "bytes": progress.bytes}))
    return 0


def _read_chunk(stdin) -> bytes:
    read = getattr(stdin, "read1", None)
    return read(1 << 16) if read is not None else stdin.read(1 << 16)


async def _send_line(producer, line: bytes, separator, headers, progress: Progress) -> None:
    key = None
    if line.endswith(b"\r"):
        line = line[:-1]
    if separator is not None:
        key, sep, value = line.partition(separator)
        if not sep:
            key, value = None, line
    else:
        value = line
    await producer.send(value, key, headers)
    progress.add(1, len(value) + len(key or b""))


# --------------------------------------------------------------------------- consume


def _start(args: argparse.Namespace):
    where = args.offset
    if where is None:
        return "stored" if args.group else ("beginning" if args.from_beginning else "end")
    if where in ("beginning", "end", "stored"):
        return where
    if where.startswith("s@"):
        return ("timestamp", int(where[2:]))
    try:
        return int(where)
    except ValueError:
        raise CommandError(f"--offset: bad value {where!r}") from None


def consume(args: argparse.Namespace) -> int:
    from ..client import Consumer

    start = _start(args)
    fmt = _unescape(args.format) if args.format else None
    progress = Progress("consumed", args.quiet)
    out = sys.stdout

    async def go():
        async with client_for(args) as client:
            timestamp = start[1] if isinstance(start, tuple) else None
            consumer = Consumer(client, [args.topic], partitions=args.partition,
                                group=args.group,
                                start="stored" if timestamp is not None else start,
                                reset="beginning" if args.from_beginning else "end",
                                exit_at_end=args.exit_at_end, start_timestamp=timestamp,
                                group_protocol=args.group_protocol)
            async with contextlib.aclosing(consumer.records(args.max)) as records:
                async for r in records:
                    text = _render(r, fmt, args.output == "json")
                    out.write(text)
                    progress.add(1, len(r.value or b"") + len(r.key or b""))
                    if args.max is not None or progress.count % 100 == 0:
                        out.flush()
            out.flush()

    try:
        run(go())
    except KeyboardInterrupt:
        pass
    progress.done()
    return 0


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode()


def _render(r, fmt: str | None, as_json: bool) -> str:
    if as_json:
        return json.dumps({
            "topic": r.topic, "partition": r.partition, "offset": r.offset,
            "timestamp": r.timestamp,
            "time": datetime.datetime.fromtimestamp(r.timestamp / 1000,
                                                    datetime.UTC).isoformat(),
            "key": _text(r.key), "value": _text(r.value),
            "headers": {k: _text(v) for k, v in r.headers}}) + "\n"
    if fmt is None:
        return (r.value or b"").decode("utf-8", "replace") + "\n"
    out = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            token = fmt[i + 1]
            i += 2
            out.append(_token(r, token))
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _token(r, token: str) -> str:
    if token == "s":
        return (r.value or b"").decode("utf-8", "replace")
    if token == "k":
        return (r.key or b"").decode("utf-8", "replace")
    if token == "t":
        return r.topic
    if token == "p":
        return str(r.partition)
    if token == "o":
        return str(r.offset)
    if token == "T":
        return str(r.timestamp)
    if token == "S":
        return str(len(r.value) if r.value is not None else -1)
    if token == "K":
        return str(len(r.key) if r.key is not None else -1)
    if token == "h":
        return ",".join(f"{k}={(v or b'').decode('utf-8', 'replace')}" for k, v in r.headers)
    if token == "%":
        return "%"
    return "%" + token
