package io.sanswitch.itests.peer;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import io.sanswitch.api.SwitchSocket;

/**
 * One direction of one connection of the migration cycles (issue 13): pseudo-random chunks, each
 * framed as {@code length:4 | bytes}, ended by a frame of length 0, with a running SHA-256 of the
 * bytes on each end. The framing lets the receiver know the end without asking the sender, which
 * may run in another JVM. Used on both sides: the test's framework and the peer bundle in the child.
 */
public final class PatternStream {
    /** Chunk sizes: DATA frames and blocks (the UCX provider's RDMA threshold is 64 KiB). */
    static final int[] CHUNKS = {100, 70_000, 4096, 300_000, 1, 1 << 20};
    /** The largest frame a receiver takes: the peer is hostile (docs/security.md SEC-2). */
    static final int MAX_CHUNK = 1 << 20;
    static final long WAIT_MILLIS = 30_000;

    private PatternStream() {
    }

    /** What went wrong on either direction of one side; empty means the application saw no error. */
    public static final class Failures {
        private final List<String> seen = new CopyOnWriteArrayList<>();

        void add(String where, Throwable e) {
            seen.add(where + ": " + e);
        }

        public List<String> list() {
            return List.copyOf(seen);
        }
    }

    /** Sends chunks until {@link #stop()}, then the end frame. */
    public static final class Sender {
        private final String name;
        private final SwitchSocket to;
        private final MessageDigest digest = sha256();
        private final AtomicLong sent = new AtomicLong();
        private final CountDownLatch ended = new CountDownLatch(1);
        /** A paced sender's largest send: above the UCX provider's RDMA threshold (64 KiB), so blocks still go. */
        static final int PACED_PIECE = 128 * 1024;
        /** Bytes per second at most, or 0: as fast as the socket takes them. */
        private final long bytesPerSecond;
        /** Bytes the socket took, headers included; the sending thread's. */
        private long handed;
        private volatile boolean stop;
        private volatile String hex;

        /** Sends as fast as the socket takes the chunks. */
        public Sender(String name, SwitchSocket to, long seed, Failures failures) {
            this(name, to, seed, 0, failures);
        }

        /**
         * @param bytesPerSecond at most this many bytes per second on average (0: as fast as the socket
         *     takes them): an application that leaves the cores room, whose stalls are the moves' and not
         *     the machine's
         */
        public Sender(String name, SwitchSocket to, long seed, long bytesPerSecond, Failures failures) {
            if (bytesPerSecond < 0) {
                throw new IllegalArgumentException("a rate of " + bytesPerSecond + " bytes per second");
            }
            this.name = name;
            this.to = to;
            this.bytesPerSecond = bytesPerSecond;
            run("send " + name, () -> send(new SplittableRandom(seed)), failures, ended);
        }

        private void send(SplittableRandom random) throws Exception {
            // Reused: a completed send gives its buffer back to the application, and no allocation
            // churn of the test's own adds to the stalls it measures.
            byte[][] chunks = new byte[CHUNKS.length][];
            for (int i = 0; i < CHUNKS.length; i++) {
                chunks[i] = new byte[CHUNKS[i]];
            }
            ByteBuffer heap = ByteBuffer.allocate(4 + MAX_CHUNK);
            ByteBuffer direct = ByteBuffer.allocateDirect(4 + MAX_CHUNK);
            long began = System.nanoTime();
            try {
                for (int round = 0; !stop; round++) {
                    byte[] chunk = chunks[round % CHUNKS.length];
                    int size = chunk.length;
                    fill(chunk, random);
                    // heap and direct in turn, each size in both from one pass to the next
                    ByteBuffer frame = ((round + round / CHUNKS.length) % 2 == 0 ? heap : direct).clear();
                    sendAll(frame.putInt(size).put(chunk).flip(), began);
                    digest.update(chunk);
                    sent.addAndGet(size);
                }
                sendAll(ByteBuffer.allocate(4).putInt(0).flip(), began);
            } finally {
                hex = HexFormat.of().formatHex(digest.digest());
            }
        }

        /**
         * Sends every byte of {@code b}; paced, in pieces of at most {@link #PACED_PIECE} bytes, each once the
         * bytes before it are due at the rate: a paced application's pause is then one piece's time, not a
         * whole chunk's (which would be a stall of its own at the receiver).
         */
        private void sendAll(ByteBuffer b, long began) throws Exception {
            while (b.hasRemaining()) {
                ByteBuffer piece = b;
                if (bytesPerSecond > 0) {
                    long due = began + (long) (handed * 1e9 / bytesPerSecond);
                    for (long wait = due - System.nanoTime(); wait > 0 && !stop; wait = due - System.nanoTime()) {
                        LockSupport.parkNanos(wait);
                    }
                    piece = b.slice(b.position(), Math.min(b.remaining(), PACED_PIECE));
                }
                int n = to.send(piece).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
                if (piece != b) {
                    b.position(b.position() + n);
                }
                handed += n;
            }
        }

        public void stop() {
            stop = true;
        }

        /**
         * Pseudo-random bytes eight at a time. {@code Random.nextBytes} (a compare-and-set per four
         * bytes) was half of each sender's processor time in the cycles, taken from the switches they
         * measure on two cores.
         */
        static void fill(byte[] chunk, SplittableRandom random) {
            ByteBuffer b = ByteBuffer.wrap(chunk);
            while (b.remaining() >= Long.BYTES) {
                b.putLong(random.nextLong());
            }
            long last = random.nextLong();
            while (b.hasRemaining()) {
                b.put((byte) last);
                last >>>= 8;
            }
        }

        /** {@code true} once the end frame is sent (or the sender failed). */
        public boolean awaitEnd(long millis) throws InterruptedException {
            return ended.await(millis, TimeUnit.MILLISECONDS);
        }

        public long sent() {
            return sent.get();
        }

        /** The SHA-256 of every byte sent, in hex; null before the end. */
        public String digest() {
            return hex;
        }

        @Override
        public String toString() {
            return name + " (sent " + sent.get() + " bytes)";
        }
    }

    /** Receives until the end frame; remembers the longest time between two receives that brought bytes. */
    public static final class Receiver {
        private final String name;
        private final SwitchSocket from;
        private final MessageDigest digest = sha256();
        private final AtomicLong received = new AtomicLong();
        /** Guarded by this: the longest gap since the last take, and the wall-clock time it ended. */
        private long longestStallNanos;
        private long longestStallEndedAt;
        private final CountDownLatch ended = new CountDownLatch(1);
        private volatile long lastProgress = System.nanoTime();
        private volatile boolean done;
        private volatile String hex;

        public Receiver(String name, SwitchSocket from, Failures failures) {
            this.name = name;
            this.from = from;
            run("receive " + name, this::receive, failures, ended);
        }

        private void receive() throws Exception {
            ByteBuffer into = ByteBuffer.allocateDirect(1 << 20);
            ByteBuffer header = ByteBuffer.allocate(4);
            int payloadLeft = 0;
            try {
                while (true) {
                    CompletableFuture<Integer> pending = from.receive(into.clear()).toCompletableFuture();
                    int n;
                    try {
                        n = pending.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
                    } catch (TimeoutException e) {
                        throw new IllegalStateException(name + ": nothing arrived for " + WAIT_MILLIS + " ms after "
                                + received.get() + " bytes; " + from.history(), e);
                    }
                    if (n < 0) {
                        throw new IllegalStateException(name + ": end of stream before the end frame, after "
                                + received.get() + " bytes");
                    }
                    long now = System.nanoTime();
                    noteGap(now - lastProgress);
                    lastProgress = now;
                    into.flip();
                    while (into.hasRemaining()) {
                        if (done) {
                            throw new IllegalStateException(name + ": " + into.remaining() + " bytes after the end frame");
                        }
                        if (payloadLeft == 0) {
                            while (header.hasRemaining() && into.hasRemaining()) {
                                header.put(into.get());
                            }
                            if (header.hasRemaining()) {
                                break;
                            }
                            payloadLeft = header.flip().getInt();
                            header.clear();
                            if (payloadLeft < 0 || payloadLeft > MAX_CHUNK) {
                                throw new IllegalStateException(name + ": frame length " + payloadLeft
                                        + " out of [0, " + MAX_CHUNK + "]");
                            }
                            if (payloadLeft == 0) {
                                done = true;
                            }
                            continue;
                        }
                        int take = Math.min(payloadLeft, into.remaining());
                        ByteBuffer slice = into.slice(into.position(), take);
                        digest.update(slice);
                        into.position(into.position() + take);
                        payloadLeft -= take;
                        received.addAndGet(take);
                    }
                    if (done) {
                        return;
                    }
                }
            } finally {
                hex = HexFormat.of().formatHex(digest.digest());
            }
        }

        public long received() {
            return received.get();
        }

        private synchronized void noteGap(long nanos) {
            if (nanos > longestStallNanos) {
                longestStallNanos = nanos;
                longestStallEndedAt = System.currentTimeMillis();
            }
        }

        /**
         * The longest time between two receives since the last call, a stall still going on
         * included (ending now), and when it ended; starts counting afresh.
         */
        public synchronized Stall takeLongestStall() {
            long ongoing = done ? 0 : System.nanoTime() - lastProgress;
            Stall longest = ongoing > longestStallNanos ? new Stall(ongoing / 1_000_000, System.currentTimeMillis())
                    : new Stall(longestStallNanos / 1_000_000, longestStallEndedAt);
            longestStallNanos = 0;
            return longest;
        }

        public boolean awaitEnd(long millis) throws InterruptedException {
            return ended.await(millis, TimeUnit.MILLISECONDS);
        }

        /** {@code true} when the end frame arrived. */
        public boolean complete() {
            return done;
        }

        /** The SHA-256 of every byte received, in hex; null before the end. */
        public String digest() {
            return hex;
        }

        @Override
        public String toString() {
            return name + " (received " + received.get() + " bytes)";
        }
    }

    /**
     * A receiver's longest time without bytes, and the wall-clock time (epoch ms) it ended: where a
     * cycle's stall sat against its stop and start (the move's pause, or the machine before it).
     */
    public record Stall(long millis, long endedAt) {
        public static final Stall NONE = new Stall(0, 0);

        public Stall max(Stall other) {
            return other.millis > millis ? other : this;
        }
    }

    @FunctionalInterface
    private interface Task {
        void run() throws Exception;
    }

    private static void run(String name, Task task, Failures failures, CountDownLatch ended) {
        Thread t = new Thread(() -> {
            try {
                task.run();
            } catch (Throwable e) {
                failures.add(name, e);
            } finally {
                ended.countDown();
            }
        }, "cycles-" + name);
        t.setDaemon(true);
        t.start();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
