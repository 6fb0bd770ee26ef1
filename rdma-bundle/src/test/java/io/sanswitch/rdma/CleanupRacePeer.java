package io.sanswitch.rdma;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.Ports;
import io.sanswitch.rdma.CleanupRaceChild.Posted;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaException;

/**
 * One side of {@link UcxCleanupRacePeersTest}: the race of {@link CleanupRaceChild} with one UCX
 * provider per JVM, as deployed (docs/toolchain.md TC-22). The listening side and the connecting
 * side each post sends, receives and RDMA writes and reads of up to a MiB on their connections;
 * then, when the test says so on stdin, this side runs its final cleanup. The test relays the
 * lines this side prints ({@code PORT}, {@code EXPOSED}) to the other side and tells both to clean
 * up at once, or only one of them (the other keeps its provider and its traffic going: its peer's
 * provider is hot-swapped). A UCX abort kills this JVM; a broken rule ends it with exit status 2.
 *
 * <p>Lines read: {@code PORT p} (connecting side), {@code EXPOSED i hex} (the peer's exposure on
 * connection i), {@code CLEAN} (run the final cleanup now), {@code PEERCLEANED} (a kept provider:
 * the peer's cleanup ended, close this round's sockets). Lines printed: {@code round N},
 * {@code PORT p}, {@code EXPOSED i hex}, {@code WARM}, {@code CLEANED}, {@code cleanup took N ms},
 * {@code ROUNDDONE}, {@code DONE N}, or {@code FAILED round N: why}, each after {@link #MARK}.
 *
 * <p>Arguments: {@code listen|connect}, rounds, {@code swap|keep} (keep: this provider stays up
 * for every round and closes its sockets instead of cleaning up).
 */
public final class CleanupRacePeer {
    private static final int SIZE = 1 << 20;
    private static final int POSTERS = 2;
    private static final int PAIRS = Integer.getInteger("race.pairs", 2);
    /** Operations each poster has posted before the cleanup may start. */
    private static final int BEFORE_CLEANUP = 12;
    /**
     * Operations each poster of a kept provider has outstanding at most ({@code -Drace.window=N}), as
     * an application would: without a bound its posters outrun its UCX worker while the peer's
     * provider is swapped (a heap of queued operations, the worker not answering for 10 s).
     */
    private static final int WINDOW = Integer.getInteger("race.window", 16);
    /** Starts each line this side prints for the test. */
    static final String MARK = "@@ ";
    private static final BufferedReader IN = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    /** The posters of this round stop (a kept provider, after its peer's cleanup ended). */
    private static volatile boolean stop;

    public static void main(String[] args) throws Exception {
        boolean listens = args[0].equals("listen");
        int rounds = Integer.parseInt(args[1]);
        boolean keep = args[2].equals("keep");
        int requestsAtStart = UcxNative.pendingRequests();
        Map<String, Integer> outcomes = new TreeMap<>();
        KitProvider kept = null;
        for (int round = 1; round <= rounds; round++) {
            say("round " + round);
            KitProvider p = kept;
            if (p == null) {
                p = new KitProvider(UcxBackend.INSTANCE.newTransport());
                p.startup();
            }
            if (keep) {
                kept = p;
            }
            String problem;
            try {
                problem = round(p, listens, keep, outcomes);
            } finally {
                if (!keep) {
                    p.close();
                }
            }
            if (problem == null && !keep && UcxNative.pendingRequests() != requestsAtStart) {
                problem = "UCX requests registered: " + UcxNative.pendingRequests() + ", at the start " + requestsAtStart;
            }
            if (problem != null) {
                say("FAILED round " + round + ": " + problem);
                System.exit(2);
            }
            say("ROUNDDONE");
        }
        if (kept != null) {
            kept.close();
        }
        if (UcxNative.pendingRequests() != requestsAtStart) {
            say("FAILED at the end: UCX requests registered: " + UcxNative.pendingRequests() + ", at the start " + requestsAtStart);
            System.exit(2);
        }
        say("outcomes " + outcomes);
        say("DONE " + rounds);
        System.exit(0);
    }

    /** One round; null if every rule held, else what broke. */
    private static String round(KitProvider p, boolean listens, boolean keep, Map<String, Integer> outcomes) throws Exception {
        stop = false;
        List<SocketHandle> connections = new ArrayList<>();
        SocketHandle listener = null;
        if (listens) {
            KitSwitch.Event accepts = new KitSwitch.Event();
            InetSocketAddress at = Ports.freeLoopback();
            listener = p.listen(at, 8, accepts);
            say("PORT " + at.getPort());
            for (int i = 0; i < PAIRS; i++) {
                connections.add(p.accept(listener, accepts, ConditionDecision.CF_ACCEPT).socket());
            }
        } else {
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", Integer.parseInt(expect("PORT ").substring(5)));
            for (int i = 0; i < PAIRS; i++) {
                // One connect at a time, so that the peer's i-th accepted socket is this i-th connection.
                connections.add(p.connected(at));
            }
        }
        for (int i = 0; i < PAIRS; i++) {
            RdmaBufferDescriptor d = p.engine.registerRdmaMemory(connections.get(i), ByteBuffer.allocateDirect(SIZE),
                    Winsock.MEM_READWRITE);
            say("EXPOSED " + i + " " + HexFormat.of().formatHex(d.toBytes()));
        }
        RdmaBufferDescriptor[] peers = new RdmaBufferDescriptor[PAIRS];
        for (int i = 0; i < PAIRS; i++) {
            String[] f = expect("EXPOSED ").split(" ");
            peers[Integer.parseInt(f[1])] = RdmaBufferDescriptor.of(HexFormat.of().parseHex(f[2]));
        }
        ConcurrentLinkedQueue<Posted> posted = new ConcurrentLinkedQueue<>();
        CountDownLatch warm = new CountDownLatch(POSTERS);
        List<Thread> posters = new ArrayList<>();
        for (int i = 0; i < POSTERS; i++) {
            posters.add(poster(p, connections.get(i % PAIRS), peers[i % PAIRS], posted, warm, keep ? WINDOW : Integer.MAX_VALUE));
        }
        posters.forEach(Thread::start);
        if (!warm.await(60, TimeUnit.SECONDS)) {
            return "the posters did not post " + BEFORE_CLEANUP + " operations each";
        }
        say("WARM");
        if (keep) {
            // The peer's provider is swapped under this one's traffic; this side goes on until it ended.
            expect("PEERCLEANED");
            stop = true;
        } else {
            expect("CLEAN");
            long start = System.nanoTime();
            p.engine.cleanup();
            say("cleanup took " + (System.nanoTime() - start) / 1_000_000 + " ms");
            say("CLEANED");
        }
        for (Thread t : posters) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            if (t.isAlive()) {
                return "a poster did not return in 60 s";
            }
        }
        if (keep) {
            for (SocketHandle s : connections) {
                p.engine.closeSocket(s);
            }
            if (listener != null) {
                p.engine.closeSocket(listener);
            }
        }
        for (Posted op : posted) {
            OverlappedResult r = op.ov().awaitResult(20, TimeUnit.SECONDS);
            if (r == null) {
                return op.what() + " never completed";
            }
            outcomes.merge(op.what() + ":" + (r.isSuccess() ? "ok" : r.error()), 1, Integer::sum);
            int upcalls = op.by().upcalls.settledCompletionsOf(op.ov());
            if (upcalls != 1) {
                return op.what() + " completed " + upcalls + " times";
            }
        }
        if (!keep && p.engine.openSockets() != 0) {
            return "sockets left after the final cleanup";
        }
        if (keep && p.engine.openSockets() != 0) {
            return "sockets left after closing this round's sockets: " + p.engine.openSockets();
        }
        return null;
    }

    /**
     * Posts at random until the engine refuses (its final cleanup began, or the peer reset the
     * connection) or the round stops, with at most {@code window} of its operations outstanding.
     */
    private static Thread poster(KitProvider by, SocketHandle s, RdmaBufferDescriptor peers, ConcurrentLinkedQueue<Posted> posted,
            CountDownLatch warm, int window) {
        return new Thread(() -> {
            int count = 0;
            ArrayDeque<Overlapped> outstanding = new ArrayDeque<>();
            try {
                MemoryHandle[] local = new MemoryHandle[4];
                for (int i = 0; i < local.length; i++) {
                    local[i] = by.register(s, ByteBuffer.allocateDirect(SIZE), Winsock.MEM_READWRITE);
                }
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (!stop) {
                    if (outstanding.size() >= window) {
                        if (outstanding.peek().awaitResult(10, TimeUnit.MILLISECONDS) != null) {
                            outstanding.poll();
                        }
                        continue;
                    }
                    MemoryHandle m = local[random.nextInt(local.length)];
                    WsaBuf[] bufs = {new WsaBuf(m, 0, 1 + random.nextInt(SIZE))};
                    Overlapped ov = Overlapped.notifying(null);
                    posted.add(CleanupRaceChild.postOne(by, s, bufs, peers,
                            CleanupRaceChild.KINDS[random.nextInt(CleanupRaceChild.KINDS.length)], ov));
                    outstanding.add(ov);
                    if (++count == BEFORE_CLEANUP) {
                        warm.countDown();
                    }
                    if (count > BEFORE_CLEANUP) {
                        Thread.onSpinWait();
                    }
                }
            } catch (WsaException e) {
                // Refused: the final cleanup began or the connection is gone; the round goes on.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (count < BEFORE_CLEANUP) {
                    warm.countDown();
                }
            }
        }, "poster");
    }

    /** The next line from the test that starts with {@code prefix} (others are skipped). */
    private static String expect(String prefix) throws Exception {
        while (true) {
            String line = IN.readLine();
            if (line == null) {
                say("FAILED: stdin ended while waiting for " + prefix.trim());
                System.exit(2);
            }
            if (line.startsWith(prefix)) {
                return line;
            }
        }
    }

    /** A line for the test; marked, since UCX's own output shares the stream and may precede it on a line. */
    private static synchronized void say(String line) {
        System.out.println(MARK + line);
        System.out.flush();
    }
}
