package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * docs/architecture.md, lifecycle end to end over real connections of the backend under test: reference counting, the
 * final cleanup with every kind of pending work, resets seen by the peer, restart on the same
 * port, stale handles, and {@code WSAENETDOWN}.
 */
public abstract class LifecycleConformance extends KitTestBase {

    private KitProvider.Pair connectPair(SocketHandle listener, KitSwitch.Event acceptEvent, InetSocketAddress at)
            throws Exception {
        return a.connectTo(b, listener, acceptEvent, at);
    }

    @Test
    @Checks({"LC-count", "LC-unmatched", "LC-no-einval", "DP-first-message"})
    void onlyTheFinalCleanupEndsTheRunAndConnectionsLiveUntilThen() throws Exception {
        b.startup();
        a.startup();
        a.startup();
        a.startup();
        KitSwitch.Event ev = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 8, ev);
        KitProvider.Pair p = connectPair(listener, ev, at);
        a.engine.cleanup();
        a.engine.cleanup();
        assertTrue(a.engine.isRunning(), "two of three cleanups leave the provider running");
        a.send(p.client(), new byte[] {1, 2, 3}, Overlapped.Mode.NOTIFY);
        assertArrayEquals(new byte[] {1, 2, 3}, b.receiveExactly(p.server(), 3, 16));
        a.engine.cleanup();
        assertFalse(a.engine.isRunning());
        WsaException e = assertThrows(WsaException.class, a.engine::cleanup);
        assertEquals(WsaError.WSANOTINITIALISED, e.error());
    }

    @Test
    @Checks({"LC-b", "LC-c", "SK-peer-reset", "ERR-completion", "OV-notify", "AC-close-listener"})
    void finalCleanupAbortsPendingSendsReceivesConnectsAndAcceptsOnManySocketsOnceEach() throws Exception {
        a.startup();
        b.startup();
        int connections = 20;
        KitSwitch.Event bAccepts = new KitSwitch.Event();
        InetSocketAddress bAt = freeAddress();
        SocketHandle bListener = b.listen(bAt, connections + 4, bAccepts);
        List<Overlapped> pending = new ArrayList<>();
        List<KitProvider.Receive> peerReceives = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            KitProvider.Pair p = connectPair(bListener, bAccepts, bAt);
            pending.add(a.recv(p.client(), 64, Overlapped.Mode.NOTIFY).overlapped());
            pending.add(a.recv(p.client(), 64, Overlapped.Mode.POLL).overlapped());
            peerReceives.add(b.recv(p.server(), 64, Overlapped.Mode.POLL));
        }
        // A send the peer never reads stays pending: over TCP it is more than the socket buffers
        // hold, over UCX a rendezvous message that waits for the peer's receive.
        KitProvider.Pair stuck = connectPair(bListener, bAccepts, bAt);
        pending.add(a.send(stuck.client(), new byte[64 << 20], Overlapped.Mode.NOTIFY));
        // Pending accepts: requests queued on a's listener, never accepted.
        KitSwitch.Event aAccepts = new KitSwitch.Event();
        InetSocketAddress aAt = freeAddress();
        SocketHandle aListener = a.listen(aAt, 16, aAccepts);
        List<SocketHandle> queuedPeers = new ArrayList<>();
        List<KitSwitch.Event> queuedConnects = new ArrayList<>();
        List<Boolean> connectedAtOnce = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SocketHandle c = b.socket();
            KitSwitch.Event connectEvent = new KitSwitch.Event();
            connectedAtOnce.add(b.startConnect(c, aAt, connectEvent) == ConnectStatus.CONNECTED);
            queuedPeers.add(c);
            queuedConnects.add(connectEvent);
        }
        for (int i = 0; i < 3; i++) {
            assertTrue(aAccepts.await(KitProvider.WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS), "FD_ACCEPT");
        }
        // A connect still in progress when the cleanup starts.
        a.startConnect(a.socket(), bAt, new KitSwitch.Event());

        a.engine.cleanup();

        for (Overlapped ov : pending) {
            a.assertCompletedOnce(ov, WsaError.WSA_OPERATION_ABORTED);
        }
        assertEquals(0, a.engine.openSockets());
        long firstAbort = a.upcalls.completionSeqs.stream().mapToLong(Long::longValue).min().orElseThrow();
        assertTrue(a.upcalls.eventSeqs.stream().allMatch(seq -> seq < firstAbort),
                "an FD_* event was signalled while the final cleanup ran");
        // Every peer sees a reset, not an orderly end of stream.
        for (KitProvider.Receive r : peerReceives) {
            OverlappedResult result = KitProvider.await(r.overlapped());
            assertEquals(WsaError.WSAECONNRESET, result.error(), "peer receive after the cleanup");
        }
        // docs/rules.md AC-close-listener: a request still queued is refused, never left hanging: the
        // peer's FD_CONNECT reports the refusal, or (TCP, handshake done in the kernel) reports
        // success and the peer's first receive fails.
        for (int i = 0; i < queuedPeers.size(); i++) {
            SocketHandle c = queuedPeers.get(i);
            if (!connectedAtOnce.get(i)) {
                KitSwitch.Event connectEvent = queuedConnects.get(i);
                assertTrue(connectEvent.await(KitProvider.WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS),
                        "no FD_CONNECT for a request queued at the closed listener");
                NetworkEventRecord record = b.engine.enumNetworkEvents(c, connectEvent);
                assertTrue(record.has(NetworkEvents.FD_CONNECT), "FD_CONNECT recorded: " + record);
                if (record.errorFor(NetworkEvents.FD_CONNECT_BIT) != null) {
                    continue; // refused: the connect itself failed
                }
            }
            OverlappedResult result = KitProvider.await(b.recv(c, 16, Overlapped.Mode.POLL).overlapped());
            assertFalse(result.isSuccess(), "a request still queued was closed in order: " + result);
        }
        a.assertNoSocketLeft(aListener);
    }

    @Test
    @Checks("LC-a")
    void noNetworkEventReachesTheSwitchWhileTheFinalCleanupRuns() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event aAccepts = new KitSwitch.Event();
        InetSocketAddress aAt = freeAddress();
        a.listen(aAt, 512, aAccepts);
        AtomicBoolean stop = new AtomicBoolean();
        Thread hammer = new Thread(() -> {
            while (!stop.get()) {
                try {
                    b.startConnect(b.socket(), aAt, new KitSwitch.Event());
                } catch (WsaException e) {
                    return;
                }
                // Paced: an unpaced hammer starved the provider's own connect below on a loaded
                // 2-core machine (over UCX every connect is a handshake both rendezvous threads serve).
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "kit-connect-hammer");
        hammer.start();
        try {
            assertTrue(aAccepts.await(KitProvider.WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS));
            InetSocketAddress bAt = freeAddress();
            KitSwitch.Event bAccepts = new KitSwitch.Event();
            SocketHandle bListener = b.listen(bAt, 8, bAccepts);
            SocketHandle c = a.connectTo(b, bListener, bAccepts, bAt).client();
            Overlapped ov = a.recv(c, 8, Overlapped.Mode.NOTIFY).overlapped();
            a.engine.cleanup();
            long cleanupReturned = KitSwitch.SEQUENCE.incrementAndGet();
            a.assertCompletedOnce(ov, WsaError.WSA_OPERATION_ABORTED);
            long abort = a.upcalls.completionSeqs.stream().mapToLong(Long::longValue).min().orElseThrow();
            // An event slipping through late could come any time; check once no thread of the
            // provider is left to raise one.
            whenQuiet(() -> {
                assertTrue(a.upcalls.eventSeqs.stream().allMatch(seq -> seq < abort),
                        "FD_ACCEPT signalled during the final cleanup");
                assertTrue(a.upcalls.eventSeqs.stream().allMatch(seq -> seq < cleanupReturned),
                        "FD_ACCEPT signalled after the final cleanup");
            });
        } finally {
            stop.set(true);
            hammer.join(10_000);
        }
    }


    /** Rounds of {@link #operationsPendingWhenTheFinalCleanupBeginsEndAbortedWhateverTheBackendDoesMeanwhile}. */
    static final int CLEANUP_RACE_ROUNDS = Integer.getInteger("kit.cleanupRace.rounds", 50);

    /**
     * docs/rules.md LC-b, LC-race: two threads keep sends and receives in flight on connections
     * whose both ends are in the provider while its final cleanup runs. Resetting one end makes the
     * backend fail the other end's operations with a reset (over UCX the cancel is a forced close),
     * yet every operation pending when the cleanup began must end with its success or with
     * {@code WSA_OPERATION_ABORTED}, once, in its own mode. A post racing the cleanup is refused
     * with {@code WSANOTINITIALISED} or accepted and then aborted.
     */
    @Test
    @Checks({"LC-b", "LC-b-once", "LC-race", "OV-notify", "OV-poll"})
    void operationsPendingWhenTheFinalCleanupBeginsEndAbortedWhateverTheBackendDoesMeanwhile() throws Exception {
        Map<WsaError, Integer> wrong = new EnumMap<>(WsaError.class);
        int failed = 0;
        for (int round = 0; round < CLEANUP_RACE_ROUNDS; round++) {
            a.startup();
            InetSocketAddress at = freeAddress();
            KitSwitch.Event accepts = new KitSwitch.Event();
            SocketHandle listener = a.listen(at, 8, accepts);
            KitProvider.Pair first = a.connectTo(a, listener, accepts, at);
            KitProvider.Pair second = a.connectTo(a, listener, accepts, at);
            CountDownLatch busy = new CountDownLatch(2);
            List<CleanupRacePoster> posters = List.of(new CleanupRacePoster(a, first, busy, Overlapped.Mode.NOTIFY),
                    new CleanupRacePoster(a, second, busy, Overlapped.Mode.POLL));
            List<Thread> threads = new ArrayList<>();
            for (CleanupRacePoster p : posters) {
                Thread t = new Thread(p, "kit-cleanup-race-poster");
                threads.add(t);
                t.start();
            }
            try {
                assertTrue(busy.await(KitProvider.WAIT_SECONDS, TimeUnit.SECONDS), "posters never got going");
                a.engine.cleanup();
            } finally {
                for (CleanupRacePoster p : posters) {
                    p.stop();
                }
                for (Thread t : threads) {
                    t.join(TimeUnit.SECONDS.toMillis(KitProvider.WAIT_SECONDS));
                    assertFalse(t.isAlive(), "a poster still runs after the final cleanup");
                }
            }
            for (CleanupRacePoster p : posters) {
                assertNull(p.unexpected, "post racing the final cleanup: " + p.unexpected);
                for (Overlapped ov : p.posted) {
                    OverlappedResult r = KitProvider.await(ov);
                    assertEquals(ov.mode() == Overlapped.Mode.NOTIFY ? 1 : 0, a.upcalls.settledCompletionsOf(ov),
                            "completion upcalls of " + ov);
                    if (!r.isSuccess()) {
                        failed++;
                        if (r.error() != WsaError.WSA_OPERATION_ABORTED) {
                            wrong.merge(r.error(), 1, Integer::sum);
                        }
                    }
                }
            }
            assertEquals(0, a.engine.openSockets());
        }
        System.out.println("[kit " + backend().name() + "] " + CLEANUP_RACE_ROUNDS + " rounds, " + failed
                + " operations failed, not aborted: " + wrong);
        assertTrue(wrong.isEmpty(), "of " + failed + " operations that failed, these did not end with "
                + "WSA_OPERATION_ABORTED: " + wrong);
    }

    /**
     * Keeps sends and receives in flight on both ends of one connection, at most a few at a time,
     * until the provider refuses a post.
     */
    private static final class CleanupRacePoster implements Runnable {
        private static final int IN_FLIGHT = 16;
        private static final int BEFORE_BUSY = 4;
        private static final int MESSAGE_BYTES = 256 << 10;

        final List<Overlapped> posted = new ArrayList<>();
        volatile Object unexpected;
        private final KitProvider provider;
        private final KitProvider.Pair pair;
        private final CountDownLatch busy;
        private final Overlapped.Mode mode;
        private volatile boolean stopped;

        CleanupRacePoster(KitProvider provider, KitProvider.Pair pair, CountDownLatch busy, Overlapped.Mode mode) {
            this.provider = provider;
            this.pair = pair;
            this.busy = busy;
            this.mode = mode;
        }

        void stop() {
            stopped = true;
        }

        private int inFlight() {
            int n = 0;
            for (int i = posted.size() - 1; i >= 0 && n <= IN_FLIGHT; i--) {
                if (!posted.get(i).isDone()) {
                    n++;
                }
            }
            return n;
        }

        @Override
        public void run() {
            // Big enough to go as a rendezvous over UCX: the send stays pending until the peer's receive takes it.
            byte[] message = new byte[MESSAGE_BYTES];
            int pairs = 0;
            try {
                while (!stopped) {
                    // Both directions: a receive first, then the send it takes.
                    posted.add(provider.recv(pair.server(), message.length, mode).overlapped());
                    posted.add(provider.send(pair.client(), message, mode));
                    posted.add(provider.recv(pair.client(), message.length, mode).overlapped());
                    posted.add(provider.send(pair.server(), message, mode));
                    if (++pairs == BEFORE_BUSY) {
                        busy.countDown();
                    }
                    while (!stopped && inFlight() > IN_FLIGHT) {
                        LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(20));
                    }
                }
            } catch (WsaException e) {
                if (e.error() != WsaError.WSANOTINITIALISED) {
                    unexpected = e;
                }
            } catch (RuntimeException e) {
                unexpected = e;
            } finally {
                busy.countDown();
            }
        }
    }

    @Test
    @Checks({"LC-f", "LC-stale", "LC-c"})
    void theProviderRestartsAtOnceOnTheSamePortAndOldHandlesAreStale() throws Exception {
        a.startup();
        b.startup();
        InetSocketAddress aAt = freeAddress();
        KitSwitch.Event ev = new KitSwitch.Event();
        SocketHandle oldListener = a.listen(aAt, 8, ev);
        KitProvider.Pair old = b.connectTo(a, oldListener, ev, aAt);
        SocketHandle oldClient = old.client();
        SocketHandle oldAccepted = old.server();
        Overlapped peerReceive = b.recv(oldClient, 8, Overlapped.Mode.POLL).overlapped();
        a.engine.cleanup();
        assertEquals(WsaError.WSAECONNRESET, KitProvider.await(peerReceive).error(), "the peer sees a reset");

        a.startup();
        KitSwitch.Event ev2 = new KitSwitch.Event();
        SocketHandle listener = a.listen(aAt, 8, ev2);
        KitProvider.Pair fresh = b.connectTo(a, listener, ev2, aAt);
        SocketHandle client = fresh.client();
        SocketHandle accepted = fresh.server();
        b.send(client, new byte[] {42}, Overlapped.Mode.POLL);
        assertArrayEquals(new byte[] {42}, a.receiveExactly(accepted, 1, 8));
        for (SocketHandle stale : List.of(oldListener, oldAccepted)) {
            WsaException e = assertThrows(WsaException.class, () -> a.engine.closeSocket(stale));
            assertEquals(WsaError.WSAENOTSOCK, e.error());
        }
    }

    /**
     * docs/rules.md LC-e, ERR-completion: two providers in a child JVM inside a network namespace of
     * the test's own, connected over the namespace's link; the link is removed while a receive is
     * pending. The receive fails with {@code WSAENETDOWN} once, later calls fail with {@code WSAENETDOWN},
     * the final cleanup reports {@code WSAENETDOWN} after releasing everything, and the provider starts
     * again (for a backend that needs the link to start, once the link is back).
     */
    @Test
    @Checks({"LC-e", "ERR-completion", "ERR-cleanup"})
    void aFailedNetworkIsReportedByTheFinalCleanupAfterEverythingWasReleased() throws Exception {
        String why = LinkNamespace.cannotCreate();
        Assumptions.assumeTrue(why == null, "the WSAENETDOWN case needs a network namespace of its own: " + why);
        Map<String, String> report = new java.util.HashMap<>();
        try (LinkNamespace ns = new LinkNamespace().create()) {
            Process host = ns.startJava(NetworkDownHost.class, backend().namespaceEnvironment(ns.link()),
                    backend().getClass().getName(), LinkNamespace.ADDRESS, "17078", String.valueOf(KitProvider.WAIT_SECONDS));
            try {
                java.io.BufferedReader out = new java.io.BufferedReader(
                        new java.io.InputStreamReader(host.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
                String line = readUntil(out, "READY", report);
                assertEquals("READY", line, "the host in " + ns + " ended early: " + report);
                assertEquals("true", report.get("crossed"), "a byte crossed the link before it went");
                ns.removeLink();
                host.getOutputStream().write("link removed\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                host.getOutputStream().flush();
                line = readUntil(out, "CLEANED", report);
                assertEquals("CLEANED", line, "the host hung or died: " + report);
                if (!backend().startsWithoutTheLink()) {
                    ns.restoreLink();
                }
                host.getOutputStream().write("restart\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                host.getOutputStream().flush();
                line = readUntil(out, "DONE", report);
                assertEquals("DONE", line, "the host hung or died: " + report);
                assertTrue(host.waitFor(KitProvider.WAIT_SECONDS, TimeUnit.SECONDS), "the host did not exit");
            } finally {
                host.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        System.out.println("[kit " + backend().name() + "] link removed: the pending receive ended " + report.get("recv")
                + " after " + report.get("detectMillis") + " ms");
        assertEquals(WsaError.WSAENETDOWN.toString(), report.get("recv"), "the pending receive across the lost link");
        assertEquals("1", report.get("recvUpcalls"), "completed once");
        assertEquals(WsaError.WSAENETDOWN.toString(), report.get("sendAfter"), "a send after the network failed");
        assertEquals(WsaError.WSAENETDOWN.toString(), report.get("socketAfter"), "a new socket after the network failed");
        assertEquals(WsaError.WSAENETDOWN.toString(), report.get("cleanup"), "the final cleanup reports the failed network");
        assertEquals("0", report.get("openSockets"));
        assertEquals("1", report.get("recvUpcallsAfterCleanup"), "no second completion once the provider was gone");
        assertEquals("false", report.get("running"));
        assertEquals("true", report.get("restarted"));
    }

    private static String readUntil(java.io.BufferedReader out, String marker, Map<String, String> report)
            throws java.io.IOException {
        String line;
        while ((line = out.readLine()) != null && !line.equals(marker)) {
            System.out.println("  host: " + line);
            int eq = line.indexOf('=');
            if (eq > 0) {
                report.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return line;
    }
}
