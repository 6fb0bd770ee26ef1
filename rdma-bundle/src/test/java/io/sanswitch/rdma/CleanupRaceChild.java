package io.sanswitch.rdma;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.Ports;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The child JVM of {@link UcxCleanupRaceTest}: rounds of two UCX providers in this JVM, connected
 * to each other (over shared memory), two threads of each posting sends, receives and RDMA writes
 * and reads of up to a MiB (rendezvous, zero-copy) on their connection, and both providers' final
 * cleanups started at once while operations are in flight between them. A UCX abort kills this
 * JVM; a broken rule ends it with exit status 2. Prints {@code DONE <rounds>} at the end.
 *
 * <p>Arguments: rounds.
 */
public final class CleanupRaceChild {
    private static final int SIZE = 1 << 20;
    private static final int POSTERS = 2;
    /** Connections per round ({@code -Drace.pairs=1}: one, which fails as often). */
    private static final int PAIRS = Integer.getInteger("race.pairs", 2);
    /** Operations each poster has posted before the cleanups start. */
    private static final int BEFORE_CLEANUP = 12;
    /**
     * At most this many operations per poster ({@code -Drace.maxPosts=N}, at least {@link #BEFORE_CLEANUP};
     * default: until the cleanup refuses): how much UCX holds at the cleanups decides how often UCX
     * 1.13.1 aborts (docs/toolchain.md TC-22).
     */
    private static final int MAX_POSTS = Math.max(BEFORE_CLEANUP, Integer.getInteger("race.maxPosts", Integer.MAX_VALUE));
    /** The cleanups of this round began (a capped poster then stops). */
    private static volatile boolean cleaning;

    /**
     * The kinds of operation posted (0 send, 1 receive, 2 RDMA write, 3 RDMA read): all, or those
     * named by {@code -Drace.kinds=0,1} (to narrow down which traffic a failure needs).
     */
    static final int[] KINDS = java.util.Arrays.stream(System.getProperty("race.kinds", "0,1,2,3").split(","))
            .mapToInt(k -> Integer.parseInt(k.trim())).toArray();

    record Posted(KitProvider by, Overlapped ov, String what) {
    }

    /** Posts one operation of {@code kind} (0 send, 1 receive, 2 RDMA write, 3 RDMA read); returns what it posted. */
    static Posted postOne(KitProvider by, SocketHandle s, WsaBuf[] bufs, RdmaBufferDescriptor peers, int kind, Overlapped ov)
            throws WsaException {
        String what = switch (kind) {
            case 0 -> "send";
            case 1 -> "recv";
            case 2 -> "rdmaWrite";
            default -> "rdmaRead";
        };
        switch (kind) {
            case 0 -> by.engine.send(s, bufs, 0, ov);
            case 1 -> by.engine.recv(s, bufs, ov);
            case 2 -> by.engine.rdmaWrite(s, bufs, peers, 0, 0, ov);
            default -> by.engine.rdmaRead(s, bufs, peers, 0, 0, ov);
        }
        return new Posted(by, ov, what);
    }

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        int requestsAtStart = UcxNative.pendingRequests();
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int round = 1; round <= rounds; round++) {
            // Which round an aborted child died in (nearly always round 2 or later: docs/toolchain.md TC-22).
            System.out.println("round " + round);
            System.out.flush();
            String problem = round(outcomes);
            int requests = UcxNative.pendingRequests();
            if (problem == null && requests != requestsAtStart) {
                problem = "UCX requests registered: " + requests + ", at the start " + requestsAtStart;
            }
            if (problem != null) {
                System.out.println("FAILED round " + round + ": " + problem);
                System.out.flush();
                System.exit(2);
            }
        }
        System.out.println("outcomes " + outcomes);
        System.out.println("DONE " + rounds);
        System.out.flush();
        System.exit(0);
    }

    /** One round; null if every rule held, else what broke. */
    private static String round(Map<String, Integer> outcomes) throws Exception {
        cleaning = false;
        KitProvider a = new KitProvider(UcxBackend.INSTANCE.newTransport());
        KitProvider b = new KitProvider(UcxBackend.INSTANCE.newTransport());
        try {
            a.startup();
            b.startup();
            KitSwitch.Event accepts = new KitSwitch.Event();
            InetSocketAddress at = Ports.freeLoopback();
            SocketHandle listener = b.listen(at, 8, accepts);
            List<KitProvider.Pair> pairs = new ArrayList<>();
            for (int i = 0; i < PAIRS; i++) {
                pairs.add(a.connectTo(b, listener, accepts, at));
            }
            ConcurrentLinkedQueue<Posted> posted = new ConcurrentLinkedQueue<>();
            CountDownLatch warm = new CountDownLatch(2 * POSTERS);
            List<Thread> posters = new ArrayList<>();
            for (int i = 0; i < POSTERS; i++) {
                KitProvider.Pair p = pairs.get(i % PAIRS);
                posters.add(poster(a, p.client(), exposed(b, p.server()), posted, warm));
                posters.add(poster(b, p.server(), exposed(a, p.client()), posted, warm));
            }
            posters.forEach(Thread::start);
            if (!warm.await(60, TimeUnit.SECONDS)) {
                return "the posters did not post " + BEFORE_CLEANUP + " operations each";
            }
            CyclicBarrier together = new CyclicBarrier(2);
            Thread ca = cleaner(a, together);
            Thread cb = cleaner(b, together);
            ca.start();
            cb.start();
            ca.join(TimeUnit.SECONDS.toMillis(60));
            cb.join(TimeUnit.SECONDS.toMillis(60));
            for (Thread t : posters) {
                t.join(TimeUnit.SECONDS.toMillis(60));
            }
            if (ca.isAlive() || cb.isAlive() || posters.stream().anyMatch(Thread::isAlive)) {
                return "a final cleanup or a poster did not return in 60 s";
            }
            for (Posted p : posted) {
                OverlappedResult r = p.ov().awaitResult(20, TimeUnit.SECONDS);
                if (r == null) {
                    return p.what() + " never completed";
                }
                String outcome = p.what() + ":" + (r.isSuccess() ? "ok" : r.error());
                outcomes.merge(outcome, 1, Integer::sum);
                if (!r.isSuccess() && r.error() != WsaError.WSA_OPERATION_ABORTED && !revokedFirst(p, r)) {
                    return p.what() + " ended with " + r.error();
                }
                int upcalls = p.by().upcalls.settledCompletionsOf(p.ov());
                if (upcalls != 1) {
                    return p.what() + " completed " + upcalls + " times";
                }
            }
            if (a.engine.openSockets() != 0 || b.engine.openSockets() != 0) {
                return "sockets left after the final cleanups";
            }
            return null;
        } finally {
            a.close();
            b.close();
        }
    }

    /**
     * An RDMA operation that reached the worker after the peer's cleanup had revoked the exposure
     * it names is refused with WSAEINVAL before it starts (docs/rules.md RD-access): it never was
     * in flight.
     */
    private static boolean revokedFirst(Posted p, OverlappedResult r) {
        return p.what().startsWith("rdma") && r.error() == WsaError.WSAEINVAL;
    }

    private static RdmaBufferDescriptor exposed(KitProvider owner, SocketHandle s) throws WsaException {
        return owner.engine.registerRdmaMemory(s, ByteBuffer.allocateDirect(SIZE), Winsock.MEM_READWRITE);
    }

    /** Posts at random until the engine refuses (its final cleanup began). */
    private static Thread poster(KitProvider by, SocketHandle s, RdmaBufferDescriptor peers, ConcurrentLinkedQueue<Posted> posted,
            CountDownLatch warm) {
        return new Thread(() -> {
            int count = 0;
            try {
                MemoryHandle[] local = new MemoryHandle[4];
                for (int i = 0; i < local.length; i++) {
                    local[i] = by.register(s, ByteBuffer.allocateDirect(SIZE), Winsock.MEM_READWRITE);
                }
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (true) {
                    if (count >= MAX_POSTS) {
                        if (cleaning) {
                            return; // the cleanup began: nothing more to post
                        }
                        Thread.onSpinWait();
                        continue;
                    }
                    MemoryHandle m = local[random.nextInt(local.length)];
                    int length = 1 + random.nextInt(SIZE);
                    WsaBuf[] bufs = {new WsaBuf(m, 0, length)};
                    Overlapped ov = Overlapped.notifying(null);
                    posted.add(postOne(by, s, bufs, peers, KINDS[random.nextInt(KINDS.length)], ov));
                    if (++count == BEFORE_CLEANUP) {
                        warm.countDown();
                    }
                    if (count > BEFORE_CLEANUP) {
                        Thread.onSpinWait();
                    }
                }
            } catch (WsaException e) {
                // Refused: the final cleanup began (or the connection is gone); the round goes on.
            } finally {
                if (count < BEFORE_CLEANUP) {
                    warm.countDown();
                }
            }
        }, "poster");
    }

    private static Thread cleaner(KitProvider p, CyclicBarrier together) {
        return new Thread(() -> {
            try {
                together.await();
                cleaning = true;
                long start = System.nanoTime();
                p.engine.cleanup();
                // How long a final cleanup took (docs/toolchain.md TC-22: a 5 s revocation wait showed here).
                System.out.println("cleanup took " + (System.nanoTime() - start) / 1_000_000 + " ms");
            } catch (Exception e) {
                System.out.println("cleanup: " + e);
            }
        }, "final-cleanup");
    }
}
