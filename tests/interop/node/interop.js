// kafkajs against a Kafka-compatible broker: create a topic, produce keyed records with
// headers (acks=-1), check offsets and metadata through the admin client and, in `group`
// mode, consume everything back with a consumer group and compare byte for byte.
//
//   node interop.js BOOTSTRAP admin|group [--records N] [--partitions P] [--idempotent true|false]
//
// `admin` needs no consumer groups (kafkajs has no group-less consumer, so reading back
// needs `group`). Exit 0 on success, 1 with "FAIL: ..." on a mismatch, 2 on an exception.
'use strict';

const { Kafka, Partitioners, logLevel } = require('kafkajs');

function parseArgs(argv) {
  const [bootstrap, mode, ...rest] = argv;
  const opt = { records: '200', partitions: '3', idempotent: 'true', 'timeout-s': '60' };
  for (let i = 0; i + 1 < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];
  if (!bootstrap || !['admin', 'group'].includes(mode)) {
    console.error('usage: node interop.js BOOTSTRAP admin|group [--records N] [--partitions P]');
    process.exit(2);
  }
  return {
    bootstrap, mode,
    n: Number(opt.records), partitions: Number(opt.partitions),
    idempotent: opt.idempotent === 'true', timeoutMs: 1000 * Number(opt['timeout-s']),
    topic: opt.topic || `interop-kafkajs-${mode}-${process.hrtime.bigint()}`,
  };
}

class Mismatch extends Error {}
const check = (ok, msg) => { if (!ok) throw new Mismatch(msg); };

// Keys repeat so partitions get several records; values cover every byte value, the empty
// value and null (a tombstone). Header values are bytes, including a repeated key.
function makeMessage(i, baseTs) {
  let value;
  if (i % 50 === 7) value = null;
  else if (i % 50 === 8) value = Buffer.alloc(0);
  else {
    value = Buffer.alloc(((i * 37) % 700) + 8);
    value.writeInt32BE(i, 0);
    for (let j = 4; j < value.length; j++) value[j] = (i + j) & 0xff;
  }
  const index = Buffer.alloc(4);
  index.writeInt32BE(i, 0);
  const headers = { index, 'utf8-ключ': Buffer.from('värde ✓', 'utf8') };
  if (i % 5 === 0) headers.index = [index, Buffer.from([0, 0xff])];
  return { key: Buffer.from(`key-${i % 17}`), value, headers, timestamp: String(baseTs + i) };
}

const sameBytes = (a, b) => (a === null || b === null ? a === b : Buffer.compare(a, b) === 0);

function sameHeaders(got, want) {
  const keys = Object.keys(want);
  if (Object.keys(got || {}).length !== keys.length) return false;
  return keys.every((k) => {
    const w = [].concat(want[k]);
    const g = [].concat(got[k]);
    return w.length === g.length && w.every((b, i) => sameBytes(Buffer.from(g[i]), b));
  });
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const kafka = new Kafka({
    clientId: 'odradek-interop-kafkajs', brokers: [a.bootstrap], logLevel: logLevel.WARN,
    connectionTimeout: 3000, requestTimeout: 15000,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    check(await admin.createTopics({ topics: [{ topic: a.topic, numPartitions: a.partitions, replicationFactor: 1 }] }),
      `createTopics(${a.topic}) returned false (topic already existed?)`);
    const md = await admin.fetchTopicMetadata({ topics: [a.topic] });
    const parts = md.topics[0].partitions;
    check(parts.length === a.partitions, `fetchTopicMetadata: ${parts.length} partitions, expected ${a.partitions}`);
    check(parts.every((p) => p.leader >= 0 && p.partitionErrorCode === 0),
      `fetchTopicMetadata: partitions without a leader: ${JSON.stringify(parts)}`);
    check((await admin.listTopics()).includes(a.topic), 'listTopics does not list the new topic');
    const tCreated = Date.now();

    // Partition each message up front with kafkajs's default (murmur2, Java-compatible)
    // partitioner, so each record's offset follows from the per-partition base offsets.
    const partitioner = Partitioners.DefaultPartitioner();
    const baseTs = Date.now() - 60000;
    const expected = new Map(); // partition -> [{offset, message}]
    const producer = kafka.producer({
      idempotent: a.idempotent, maxInFlightRequests: a.idempotent ? 1 : undefined,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const chunk = Math.max(1, Math.ceil(a.n / 4)); // several produce requests, several batches
    for (let start = 0; start < a.n; start += chunk) {
      const messages = [];
      for (let i = start; i < Math.min(a.n, start + chunk); i++) {
        const m = makeMessage(i, baseTs);
        m.partition = partitioner({ topic: a.topic, partitionMetadata: parts, message: m });
        messages.push(m);
      }
      const results = await producer.send({ topic: a.topic, acks: -1, messages });
      for (const r of results) {
        check(r.errorCode === 0, `produce partition ${r.partition}: error ${r.errorCode}`);
        const mine = messages.filter((m) => m.partition === r.partition);
        const list = expected.get(r.partition) || [];
        mine.forEach((m, k) => list.push({ offset: BigInt(r.baseOffset) + BigInt(k), message: m }));
        expected.set(r.partition, list);
      }
    }
    await producer.disconnect();
    const tProduced = Date.now();

    const offsets = await admin.fetchTopicOffsets(a.topic);
    for (const o of offsets) {
      const want = (expected.get(o.partition) || []).length;
      check(o.low === '0' && o.high === String(want) && o.offset === String(want),
        `fetchTopicOffsets partition ${o.partition}: ${JSON.stringify(o)}, expected low 0, high ${want}`);
    }
    const byTime = await admin.fetchTopicOffsetsByTimestamp(a.topic, baseTs);
    check(byTime.every((o) => o.offset === '0' || !expected.has(o.partition)),
      `fetchTopicOffsetsByTimestamp(first timestamp): ${JSON.stringify(byTime)}`);

    if (a.mode === 'group') await consumeAndCompare(kafka, admin, a, expected);
    const tDone = Date.now();
    console.log(`OK mode=${a.mode} records=${a.n} partitions=${a.partitions} idempotent=${a.idempotent} ` +
      `topic=${a.topic} create=${tCreated - t0}ms produce=${tProduced - tCreated}ms ` +
      `check=${tDone - tProduced}ms total=${tDone - t0}ms`);
  } finally {
    await admin.disconnect();
  }
}

async function consumeAndCompare(kafka, admin, a, expected) {
  const groupId = `${a.topic}-group`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, sessionTimeout: 10000, heartbeatInterval: 1000 });
  const got = new Map();
  let count = 0;
  let done;
  const allIn = new Promise((resolve) => { done = resolve; });
  await consumer.connect();
  await consumer.subscribe({ topic: a.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (!got.has(partition)) got.set(partition, []);
      got.get(partition).push(message);
      if (++count >= a.n) done();
    },
  });
  const timer = setTimeout(done, a.timeoutMs);
  await allIn;
  clearTimeout(timer);
  const commits = [...expected].map(([partition, list]) => ({
    topic: a.topic, partition, offset: String(list[list.length - 1].offset + 1n) }));
  await consumer.commitOffsets(commits);
  await consumer.disconnect();

  check(count === a.n, `consumed ${count} records, expected ${a.n}`);
  for (const [partition, want] of expected) {
    const have = got.get(partition) || [];
    check(have.length === want.length, `partition ${partition}: consumed ${have.length}, expected ${want.length}`);
    want.forEach(({ offset, message: w }, i) => {
      const h = have[i];
      const where = `partition ${partition} position ${i} offset ${offset}`;
      check(h.offset === String(offset), `${where}: consumed offset ${h.offset} (out of order or gap)`);
      check(sameBytes(h.key, w.key) && sameBytes(h.value, w.value), `${where}: key/value differ`);
      check(h.timestamp === w.timestamp, `${where}: timestamp ${h.timestamp}, expected ${w.timestamp}`);
      check(sameHeaders(h.headers, w.headers), `${where}: headers differ: ${JSON.stringify(h.headers)}`);
    });
  }
  const [committed] = await admin.fetchOffsets({ groupId, topics: [a.topic] });
  for (const { partition, offset } of commits) {
    const c = committed.partitions.find((p) => p.partition === partition);
    check(c && c.offset === offset, `committed offset of partition ${partition}: ${c && c.offset}, expected ${offset}`);
  }
}

main().then(() => process.exit(0), (err) => {
  if (err instanceof Mismatch) {
    console.error(`FAIL: ${err.message}`);
    process.exit(1);
  }
  console.error(`FAIL: exception: ${err && err.stack ? err.stack : err}`);
  process.exit(2);
});
