package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.Ports;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;

/**
 * A hostile client against a real UCX provider in a child JVM ({@link RendezvousFuzzTarget}), so
 * that a crash of UCX or the JVM fails this test instead of the build (docs/security.md, SEC-1 to
 * SEC-4). Each input is one TCP connection to the listener: random bytes; a real hello (made with
 * the key for the listener's real challenge) truncated at any length, with a length field lied
 * about, with bits flipped or with bytes after it; hellos made with another key; recorded hellos
 * replayed on a new connection; and hellos proven with the key whose worker address is forged
 * (random bytes, a real address cut short or extended, a real header followed by random bytes).
 * Every input must end with the listener closing the connection without accepting; each one
 * without the key is exactly one log line of the target ("refused the handshake of"), each forged
 * address proven with the key one failed accept; no other warning, no stack trace. Afterwards a
 * legitimate peer connects and moves data byte-exact, and the target ends with exit code 0.
 *
 * <p>CI runs {@value #CI_INPUTS} inputs; {@code -Dfuzz.minutes=N} runs for about N minutes instead.
 */
@Timeout(value = 2, unit = TimeUnit.HOURS)
class HostileClientFuzzTest {
    static final int CI_INPUTS = 10_000;
    private static final String KEY_TEXT = "the fuzz test's shared key, 32+ chars";
    private static final RendezvousKey KEY = RendezvousKey.of(KEY_TEXT);
    private static final RendezvousKey.Source KEY_SOURCE = new RendezvousKey.Source(KEY_TEXT, null);
    private static final int CLIENTS = 4;

    enum Kind {
        RANDOM_BYTES, TRUNCATED_HELLO, LENGTH_LIE, AUTHENTICATED_LENGTH_LIE, BIT_FLIPS, TRAILING_BYTES, OTHER_KEY,
        REPLAY, FORGED_ADDRESS_WITH_KEY;

        /** Whether the listener refuses it in the handshake itself (the rest it refuses at accept). */
        boolean refusedInHandshake() {
            return this != FORGED_ADDRESS_WITH_KEY;
        }
    }

    private Process target;
    private KitProvider peer;
    private final List<String> output = new ArrayList<>();
    private final AtomicInteger refusedLines = new AtomicInteger();
    private final AtomicInteger acceptFailedLines = new AtomicInteger();
    private final ConcurrentLinkedQueue<String> unexpectedLines = new ConcurrentLinkedQueue<>();
    private final CountDownLatch ready = new CountDownLatch(1);
    private final CountDownLatch done = new CountDownLatch(1);
    /** The last hello some client sent with the key, for replays. */
    private final AtomicReference<byte[]> recorded = new AtomicReference<>();

    @AfterEach
    void stop() throws InterruptedException {
        if (peer != null) {
            peer.close();
        }
        if (target != null && target.isAlive()) {
            target.destroyForcibly();
            target.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void noInputEndsInAnythingButARefusalAndARealPeerIsServedAfterwards() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Ucx.isAvailable(), "UCX is not available");
        InetSocketAddress at = startTarget();
        peer = new KitProvider(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, "", KEY_SOURCE, Duration.ofSeconds(5)));
        peer.startup();
        byte[] realAddress = ((UcxTransport) peer.transport).workerAddress();

        long minutes = Long.getLong("fuzz.minutes", 0);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(minutes);
        Map<Kind, AtomicInteger> tried = new EnumMap<>(Kind.class);
        for (Kind k : Kind.values()) {
            tried.put(k, new AtomicInteger());
        }
        AtomicInteger next = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        List<Future<?>> running = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < CLIENTS; c++) {
            long seed = 1000 + c;
            running.add(clients.submit(() -> {
                Random random = new Random(seed);
                for (int i; (i = next.getAndIncrement()) < CI_INPUTS || System.nanoTime() < deadline;) {
                    Kind kind = Kind.values()[i % Kind.values().length];
                    attack(at, kind, random, realAddress);
                    tried.get(kind).incrementAndGet();
                    if (minutes > 0 && i % 10_000 == 0) {
                        System.out.printf("[fuzz] %d inputs, %d s%n", i, (System.nanoTime() - start) / 1_000_000_000L);
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : running) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new AssertionError("a hostile client failed (target alive: " + target.isAlive() + "); the target's"
                        + " last lines:\n" + tail(), e.getCause());
            }
        }
        clients.shutdown();
        int total = tried.values().stream().mapToInt(AtomicInteger::get).sum();
        int inHandshake = 0;
        for (Kind k : Kind.values()) {
            if (k.refusedInHandshake()) {
                inHandshake += tried.get(k).get();
            }
        }
        awaitCount(refusedLines, inHandshake, "log lines 'refused the handshake of'");
        awaitCount(acceptFailedLines, tried.get(Kind.FORGED_ADDRESS_WITH_KEY).get(), "failed accepts");
        System.out.printf("[fuzz] %d hostile inputs in %.1f s: %s; %d refused in the handshake (one log line each),"
                + " %d forged addresses refused at accept%n", total, (System.nanoTime() - start) / 1e9, tried,
                refusedLines.get(), acceptFailedLines.get());
        assertTrue(total >= CI_INPUTS, "inputs tried: " + total);
        assertTrue(target.isAlive(), "the target died: " + tail());

        // A legitimate peer is served at once, byte-exact.
        SocketHandle s = peer.connected(at);
        byte[] data = new byte[(1 << 20) + 3];
        new Random(5).nextBytes(data);
        Overlapped sent = peer.send(s, data, Overlapped.Mode.POLL);
        assertArrayEquals(data, peer.receiveExactly(s, data.length, 1 << 20));
        assertTrue(KitProvider.await(sent).isSuccess());
        peer.engine.closeSocket(s);

        target.getOutputStream().close();
        assertTrue(done.await(60, TimeUnit.SECONDS), "the target did not end: " + tail());
        assertTrue(target.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, target.exitValue(), tail());
        assertEquals(inHandshake, refusedLines.get(), "one log line per refused handshake");
        assertTrue(unexpectedLines.isEmpty(), "the target said more than one line per refusal: " + unexpectedLines);
    }

    /** One hostile connection; returns when the listener closed it (never with an acceptance). */
    private void attack(InetSocketAddress at, Kind kind, Random random, byte[] realAddress) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(at, 10_000);
            s.setSoTimeout(30_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] input;
            boolean early = kind == Kind.RANDOM_BYTES && random.nextBoolean();
            if (early) {
                input = randomBytes(random); // before the challenge is read
            } else {
                byte[] challenge = in.readNBytes(Handshake.CHALLENGE);
                assertEquals(Handshake.CHALLENGE, challenge.length, "no challenge");
                byte[] serverNonce = Handshake.challenge(ByteBuffer.wrap(challenge));
                input = input(kind, random, serverNonce, realAddress);
            }
            try {
                out.write(input);
                s.shutdownOutput();
                if (early) {
                    in.readNBytes(Handshake.CHALLENGE);
                }
                int first = in.read();
                assertTrue(first == -1, kind + ": the listener answered a hostile hello with " + first);
            } catch (SocketException resetOrClosed) {
                // the listener reset the connection: a refusal
            }
        }
    }

    private byte[] input(Kind kind, Random random, byte[] serverNonce, byte[] realAddress) {
        byte[] clientNonce = new byte[Handshake.NONCE];
        random.nextBytes(clientNonce);
        byte[] caller = new byte[random.nextInt(64)];
        byte[] hello = bytes(Handshake.hello(KEY, serverNonce, clientNonce, random.nextLong(), realAddress, caller));
        return switch (kind) {
            case RANDOM_BYTES -> randomBytes(random);
            case TRUNCATED_HELLO -> java.util.Arrays.copyOf(hello, random.nextInt(hello.length));
            case LENGTH_LIE -> {
                // bodyLength sits after magic, version and nonce
                ByteBuffer.wrap(hello).putInt(8 + Handshake.NONCE, lie(random));
                yield hello;
            }
            case AUTHENTICATED_LENGTH_LIE -> authenticatedLie(random, serverNonce, clientNonce, realAddress, caller);
            case BIT_FLIPS -> {
                java.util.Set<Integer> bits = new java.util.HashSet<>(); // distinct: two flips of one bit cancel
                for (int f = 1 + random.nextInt(4); bits.size() < f;) {
                    bits.add(random.nextInt(hello.length * 8));
                }
                for (int bit : bits) {
                    hello[bit / 8] ^= (byte) (1 << (bit % 8));
                }
                yield hello;
            }
            case TRAILING_BYTES -> {
                byte[] longer = java.util.Arrays.copyOf(hello, hello.length + 1 + random.nextInt(100));
                yield longer;
            }
            case OTHER_KEY -> {
                byte[] address = new byte[1 + random.nextInt(2000)];
                random.nextBytes(address);
                yield bytes(Handshake.hello(RendezvousKey.of("a key of another installation"), serverNonce, clientNonce, 1,
                        address, caller));
            }
            case REPLAY -> {
                byte[] old = recorded.getAndSet(hello);
                yield old != null ? old : randomBytes(random);
            }
            case FORGED_ADDRESS_WITH_KEY -> bytes(Handshake.hello(KEY, serverNonce, clientNonce, 1,
                    forgedAddress(random, realAddress), caller));
        };
    }

    /** A hello proven with the key whose inner length fields lie; the listener's strict parser refuses it. */
    private static byte[] authenticatedLie(Random random, byte[] serverNonce, byte[] clientNonce, byte[] address,
            byte[] caller) {
        // At least one of the two lengths is wrong (a lie may hit the true value by chance).
        int addressLength = random.nextBoolean() ? lie(random) : address.length;
        int callerLength = lie(random);
        if (addressLength == address.length && callerLength == caller.length) {
            callerLength++;
        }
        byte[] body = ByteBuffer.allocate(8 + 4 + address.length + 4 + caller.length).putLong(1)
                .putInt(addressLength).put(address).putInt(callerLength).put(caller).array();
        return ByteBuffer.allocate(44 + body.length + Handshake.MAC).putInt(Handshake.MAGIC).putInt(Handshake.VERSION)
                .put(clientNonce).putInt(body.length).put(body)
                .put(KEY.mac("sanswitch-ucx-rendezvous-v2 hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                        serverNonce, clientNonce, body))
                .array();
    }

    /**
     * A worker address no UCX packed: never a real address with bytes changed inside it (a
     * changed byte in a transport address could be a real host's address, which UCX would then
     * try to reach), only shapes the validator must refuse.
     */
    private static byte[] forgedAddress(Random random, byte[] real) {
        switch (random.nextInt(4)) {
            case 0: {
                byte[] junk = new byte[1 + random.nextInt(1000)];
                random.nextBytes(junk);
                return junk;
            }
            case 1:
                return java.util.Arrays.copyOf(real, random.nextInt(real.length));
            case 2: {
                byte[] longer = java.util.Arrays.copyOf(real, real.length + 1 + random.nextInt(64));
                return longer;
            }
            default: {
                // The case found in the wild: a real header, then random bytes.
                byte[] forged = java.util.Arrays.copyOf(real, Math.min(real.length, 10 + random.nextInt(300)));
                for (int i = Math.min(10, forged.length); i < forged.length; i++) {
                    forged[i] = (byte) random.nextInt();
                }
                return forged;
            }
        }
    }

    private static int lie(Random random) {
        int[] boundaries = {-1, 0, 1, Integer.MIN_VALUE, Integer.MAX_VALUE, Handshake.MAX_MESSAGE, Handshake.MAX_MESSAGE + 1,
            Handshake.MAX_WORKER_ADDRESS + 1, 65536};
        return random.nextBoolean() ? boundaries[random.nextInt(boundaries.length)] : random.nextInt();
    }

    private static byte[] randomBytes(Random random) {
        byte[] b = new byte[random.nextInt(10) == 0 ? random.nextInt(70_000) : random.nextInt(200)];
        random.nextBytes(b);
        if (b.length >= 8 && random.nextBoolean()) {
            ByteBuffer.wrap(b).putInt(Handshake.MAGIC).putInt(Handshake.VERSION);
        }
        return b;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private InetSocketAddress startTarget() throws Exception {
        int port = Ports.free(InetAddress.getLoopbackAddress()); // the target process binds it
        List<String> command = List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-cp", System.getProperty("java.class.path"), RendezvousFuzzTarget.class.getName(), String.valueOf(port),
                "10000");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("UCX_ERROR_SIGNALS", ""); // UCX's signal handlers stay out of the JVM's way
        pb.environment().put("SANSWITCH_TEST_KEY", KEY_TEXT);
        target = pb.start();
        Thread reader = new Thread(() -> read(target.getInputStream()), "fuzz target output");
        reader.setDaemon(true);
        reader.start();
        assertTrue(ready.await(60, TimeUnit.SECONDS), "the target never listened: " + tail());
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    private void read(InputStream stream) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(stream))) {
            for (String line; (line = r.readLine()) != null;) {
                synchronized (output) {
                    output.add(line);
                    if (output.size() > 200) {
                        output.remove(0);
                    }
                }
                if (line.equals("READY")) {
                    ready.countDown();
                } else if (line.equals("DONE")) {
                    done.countDown();
                } else if (line.contains("refused the handshake of")) {
                    refusedLines.incrementAndGet();
                    if (line.contains("no complete handshake within")) {
                        unexpectedLines.add(line); // every input ends before the timeout
                    }
                } else if (line.startsWith("ACCEPT-FAILED")) {
                    acceptFailedLines.incrementAndGet();
                } else if (line.contains("WARN") || line.contains("ERROR") || line.contains("Exception")
                        || line.startsWith("\tat ")) {
                    if (!isForgedAddressLog(line)) {
                        unexpectedLines.add(line);
                    }
                }
            }
        } catch (IOException e) {
            synchronized (output) {
                output.add("output ended: " + e);
            }
        }
    }

    /** The one line the provider writes for a proven hello whose worker address it refuses. */
    private static boolean isForgedAddressLog(String line) {
        return line.contains("worker address");
    }

    private static void awaitCount(AtomicInteger count, int expected, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (count.get() < expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(expected, count.get(), what);
    }

    private String tail() {
        synchronized (output) {
            return String.join("\n", output.subList(Math.max(0, output.size() - 40), output.size()));
        }
    }
}
