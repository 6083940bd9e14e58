import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Round trip through a Kafka-compatible broker with the Apache Kafka Java client:
 * create a topic (Admin), produce keyed records with headers (acks=all), consume them back,
 * and check every record byte for byte and every partition in offset order.
 *
 * <pre>
 * java -cp "classes:lib/*" InteropHarness BOOTSTRAP MODE [--records N] [--partitions P]
 *      [--idempotence true|false] [--topic NAME] [--timeout-s S]
 * MODE: assign          consumer.assign() + seekToBeginning, no group
 *       group           subscribe() with group.protocol=classic (JoinGroup/SyncGroup)
 *       group-consumer  subscribe() with group.protocol=consumer (KIP-848 heartbeat)
 * </pre>
 * Exit 0 on success; 1 with "FAIL: ..." when the data or offsets differ; 2 on an exception.
 */
public final class InteropHarness {

    /** What the producer sent and where the broker said it landed. */
    record Sent(int partition, long offset, long timestamp, byte[] key, byte[] value, Header[] headers) {}

    public static void main(String[] args) {
        // Before any Kafka class creates a logger: keep the client quiet unless it warns.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
        try {
            System.exit(run(args));
        } catch (Throwable t) {
            System.err.println("FAIL: exception: " + t);
            t.printStackTrace();
            System.exit(2);
        }
    }

    static int run(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: InteropHarness BOOTSTRAP assign|group|group-consumer [options]");
            return 2;
        }
        String bootstrap = args[0];
        String mode = args[1];
        Map<String, String> opt = new HashMap<>();
        for (int i = 2; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int n = Integer.parseInt(opt.getOrDefault("records", "200"));
        int partitions = Integer.parseInt(opt.getOrDefault("partitions", "3"));
        boolean idempotence = Boolean.parseBoolean(opt.getOrDefault("idempotence", "true"));
        String topic = opt.getOrDefault("topic", "interop-java-" + mode + "-" + System.nanoTime());
        Duration timeout = Duration.ofSeconds(Long.parseLong(opt.getOrDefault("timeout-s", "60")));
        if (!List.of("assign", "group", "group-consumer").contains(mode)) {
            System.err.println("FAIL: unknown mode " + mode);
            return 2;
        }
        long t0 = System.nanoTime();

        Properties common = new Properties();
        common.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        common.put(AdminClientConfig.CLIENT_ID_CONFIG, "odradek-interop-java");

        try (Admin admin = admin(common)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
            TopicDescription desc = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            if (desc.partitions().size() != partitions) {
                return fail("describeTopics: %d partitions, expected %d", desc.partitions().size(), partitions);
            }
        }
        long tCreated = System.nanoTime();

        List<Sent> sent = produce(common, topic, n, idempotence);
        long tProduced = System.nanoTime();

        String group = topic + "-group";
        Map<Integer, List<ConsumerRecord<byte[], byte[]>>> got = consume(common, topic, partitions, mode, group, n, timeout);
        long tConsumed = System.nanoTime();

        int rc = check(sent, got, n);
        if (rc != 0) {
            return rc;
        }
        rc = checkOffsets(common, topic, partitions, sent, mode.startsWith("group") ? group : null);
        if (rc != 0) {
            return rc;
        }
        System.out.printf("OK mode=%s records=%d partitions=%d idempotence=%s topic=%s "
                        + "create=%dms produce=%dms consume=%dms total=%dms%n",
                mode, n, partitions, idempotence, topic, ms(t0, tCreated), ms(tCreated, tProduced),
                ms(tProduced, tConsumed), ms(t0, System.nanoTime()));
        return 0;
    }

    /** An unreachable or silent broker fails the run in 30 s instead of the default 60 s. */
    static Admin admin(Properties common) {
        Properties a = new Properties();
        a.putAll(common);
        a.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        a.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        return Admin.create(a);
    }

    static List<Sent> produce(Properties common, String topic, int n, boolean idempotence) throws Exception {
        Properties p = new Properties();
        p.putAll(common);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, Boolean.toString(idempotence));
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5"); // several records per batch
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer =
                     new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < n; i++) {
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, key(i), value(i), headers(i));
                records.add(r);
                futures.add(producer.send(r));
            }
            producer.flush();
        }
        List<Sent> sent = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            RecordMetadata md = futures.get(i).get();
            ProducerRecord<byte[], byte[]> r = records.get(i);
            sent.add(new Sent(md.partition(), md.offset(), md.timestamp(), r.key(), r.value(), r.headers().toArray()));
        }
        return sent;
    }

    static Map<Integer, List<ConsumerRecord<byte[], byte[]>>> consume(
            Properties common, String topic, int partitions, String mode, String group, int n, Duration timeout) {
        Properties c = new Properties();
        c.putAll(common);
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        if (!mode.equals("assign")) {
            c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            c.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, mode.equals("group") ? "classic" : "consumer");
        }
        Map<Integer, List<ConsumerRecord<byte[], byte[]>>> got = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                     new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            if (mode.equals("assign")) {
                List<TopicPartition> tps = new ArrayList<>();
                for (int p = 0; p < partitions; p++) {
                    tps.add(new TopicPartition(topic, p));
                }
                consumer.assign(tps);
                consumer.seekToBeginning(tps);
            } else {
                consumer.subscribe(List.of(topic));
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            int count = 0;
            while (count < n && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    got.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r);
                    count++;
                }
            }
            if (!mode.equals("assign")) {
                consumer.commitSync(); // checked afterwards through Admin.listConsumerGroupOffsets
            }
        }
        return got;
    }

    /** Every partition must hold exactly what was sent to it, in offset order, byte for byte. */
    static int check(List<Sent> sent, Map<Integer, List<ConsumerRecord<byte[], byte[]>>> got, int n) {
        Map<Integer, List<Sent>> expected = sent.stream()
                .collect(Collectors.groupingBy(Sent::partition, TreeMap::new, Collectors.toList()));
        int total = got.values().stream().mapToInt(List::size).sum();
        if (total != n) {
            return fail("consumed %d records, expected %d (per partition: %s)", total, n, sizes(got));
        }
        for (var e : expected.entrySet()) {
            List<Sent> want = e.getValue();
            want.sort((a, b) -> Long.compare(a.offset(), b.offset()));
            List<ConsumerRecord<byte[], byte[]>> have = got.getOrDefault(e.getKey(), List.of());
            if (have.size() != want.size()) {
                return fail("partition %d: consumed %d records, expected %d", e.getKey(), have.size(), want.size());
            }
            for (int i = 0; i < want.size(); i++) {
                Sent w = want.get(i);
                ConsumerRecord<byte[], byte[]> h = have.get(i);
                String where = "partition " + e.getKey() + " position " + i + " offset " + w.offset();
                if (h.offset() != w.offset()) {
                    return fail("%s: consumed offset %d (out of order or gap)", where, h.offset());
                }
                if (!Arrays.equals(h.key(), w.key()) || !Arrays.equals(h.value(), w.value())) {
                    return fail("%s: key/value differ: got key=%s value=%s", where, show(h.key()), show(h.value()));
                }
                if (h.timestamp() != w.timestamp()) {
                    return fail("%s: timestamp %d, producer was told %d", where, h.timestamp(), w.timestamp());
                }
                Header[] hh = h.headers().toArray();
                if (hh.length != w.headers().length) {
                    return fail("%s: %d headers, expected %d", where, hh.length, w.headers().length);
                }
                for (int j = 0; j < hh.length; j++) {
                    if (!hh[j].key().equals(w.headers()[j].key()) || !Arrays.equals(hh[j].value(), w.headers()[j].value())) {
                        return fail("%s: header %d differs: %s=%s", where, j, hh[j].key(), show(hh[j].value()));
                    }
                }
            }
        }
        return 0;
    }

    /** End offsets must match what was produced; in group modes the commit must be visible. */
    static int checkOffsets(Properties common, String topic, int partitions, List<Sent> sent, String group)
            throws Exception {
        Map<TopicPartition, Long> want = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            want.put(new TopicPartition(topic, p), 0L);
        }
        for (Sent s : sent) {
            want.merge(new TopicPartition(topic, s.partition()), s.offset() + 1, Math::max);
        }
        try (Admin admin = admin(common)) {
            Map<TopicPartition, OffsetSpec> specs = want.keySet().stream()
                    .collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest()));
            var latest = admin.listOffsets(specs).all().get();
            for (var e : want.entrySet()) {
                long end = latest.get(e.getKey()).offset();
                if (end != e.getValue()) {
                    return fail("listOffsets latest %s = %d, expected %d", e.getKey(), end, e.getValue());
                }
            }
            if (group != null) {
                Map<TopicPartition, OffsetAndMetadata> committed =
                        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                for (var e : want.entrySet()) {
                    OffsetAndMetadata c = committed.get(e.getKey());
                    long have = c == null ? -1 : c.offset();
                    if (e.getValue() > 0 && have != e.getValue()) {
                        return fail("committed offset %s = %d, expected %d", e.getKey(), have, e.getValue());
                    }
                }
            }
        }
        return 0;
    }

    // Keys repeat so several records share a partition; values cover every byte value,
    // the empty value and null (a tombstone) so nothing is lost to text encodings.
    static byte[] key(int i) {
        return ("key-" + (i % 17)).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] value(int i) {
        if (i % 50 == 7) {
            return null;
        }
        if (i % 50 == 8) {
            return new byte[0];
        }
        byte[] v = new byte[(i * 37) % 700 + 8];
        ByteBuffer.wrap(v).putInt(i);
        for (int j = 4; j < v.length; j++) {
            v[j] = (byte) (i + j);
        }
        return v;
    }

    static List<Header> headers(int i) {
        List<Header> h = new ArrayList<>();
        h.add(new RecordHeader("index", ByteBuffer.allocate(4).putInt(i).array()));
        h.add(new RecordHeader("utf8-ключ", "värde ✓".getBytes(StandardCharsets.UTF_8)));
        if (i % 3 == 0) {
            h.add(new RecordHeader("null-value", null));
        }
        if (i % 5 == 0) {
            h.add(new RecordHeader("index", new byte[] {0, (byte) 0xff})); // repeated key
        }
        return h;
    }

    static int fail(String format, Object... args) {
        System.err.println("FAIL: " + String.format(format, args));
        return 1;
    }

    static String show(byte[] b) {
        if (b == null) {
            return "null";
        }
        return b.length <= 32 ? Arrays.toString(b) : b.length + " bytes";
    }

    static Map<Integer, Integer> sizes(Map<Integer, List<ConsumerRecord<byte[], byte[]>>> got) {
        Map<Integer, Integer> m = new TreeMap<>();
        got.forEach((p, l) -> m.put(p, l.size()));
        return m;
    }

    static long ms(long from, long to) {
        return (to - from) / 1_000_000;
    }
}
