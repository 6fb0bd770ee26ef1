package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * DESIGN 2 end to end over real connections of the backend under test: reference counting, the
 * final cleanup with every kind of pending work, resets seen by the peer, restart on the same
 * port, stale handles, and {@code WSAENETDOWN}.
 */
public abstract class LifecycleConformance extends KitTestBase {

    /** A connected pair: a's client socket and b's accepted socket. */
    protected record Pair(SocketHandle client, SocketHandle server) {
    }

    protected Pair connectPair(SocketHandle listener, KitSwitch.Event acceptEvent, InetSocketAddress at) throws Exception {
        SocketHandle c = a.connected(at);
        AcceptedSocket s = b.accept(listener, acceptEvent, ConditionDecision.CF_ACCEPT);
        return new Pair(c, s.socket());
    }

    @Test
    void onlyTheFinalCleanupEndsTheRunAndConnectionsLiveUntilThen() throws Exception {
        b.startup();
        a.startup();
        a.startup();
        a.startup();
        KitSwitch.Event ev = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 8, ev);
        Pair p = connectPair(listener, ev, at);
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
            Pair p = connectPair(bListener, bAccepts, bAt);
            pending.add(a.recv(p.client(), 64, Overlapped.Mode.NOTIFY).overlapped());
            pending.add(a.recv(p.client(), 64, Overlapped.Mode.POLL).overlapped());
            peerReceives.add(b.recv(p.server(), 64, Overlapped.Mode.POLL));
        }
        // A send the peer never reads: more than the stack can buffer, so it stays pending.
        Pair stuck = connectPair(bListener, bAccepts, bAt);
        Overlapped bigSend = a.send(stuck.client(), new byte[64 << 20], Overlapped.Mode.NOTIFY);
        pending.add(bigSend);
        // Pending accepts: requests queued on a's listener, never accepted.
        KitSwitch.Event aAccepts = new KitSwitch.Event();
        InetSocketAddress aAt = freeAddress();
        SocketHandle aListener = a.listen(aAt, 16, aAccepts);
        List<KitProvider.Receive> refusedPeers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SocketHandle c = b.socket();
            if (b.connect(c, aAt) == null) {
                refusedPeers.add(b.recv(c, 16, Overlapped.Mode.POLL));
            }
        }
        // A connect still in progress when the cleanup starts.
        a.startConnect(a.socket(), bAt, new KitSwitch.Event());

        Thread.sleep(200); // let the big send fill the pipe and the requests queue up
        assertFalse(bigSend.isDone(), "the big send completed: the pipe absorbed 64 MiB");
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
        for (KitProvider.Receive r : refusedPeers) {
            OverlappedResult result = KitProvider.await(r.overlapped());
            assertFalse(result.isSuccess(), "spec Q17: a request still queued is refused, not closed in order: " + result);
        }
        a.assertNoSocketLeft(aListener);
    }

    @Test
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
                Thread.onSpinWait();
            }
        }, "kit-connect-hammer");
        hammer.start();
        try {
            assertTrue(aAccepts.await(KitProvider.WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS));
            SocketHandle c = a.connected(freeListenerOn(b));
            Overlapped ov = a.recv(c, 8, Overlapped.Mode.NOTIFY).overlapped();
            a.engine.cleanup();
            long cleanupReturned = KitSwitch.SEQUENCE.incrementAndGet();
            a.assertCompletedOnce(ov, WsaError.WSA_OPERATION_ABORTED);
            long abort = a.upcalls.completionSeqs.stream().mapToLong(Long::longValue).min().orElseThrow();
            Thread.sleep(100);
            assertTrue(a.upcalls.eventSeqs.stream().allMatch(seq -> seq < abort),
                    "FD_ACCEPT signalled during the final cleanup");
            assertTrue(a.upcalls.eventSeqs.stream().allMatch(seq -> seq < cleanupReturned),
                    "FD_ACCEPT signalled after the final cleanup");
        } finally {
            stop.set(true);
            hammer.join(10_000);
        }
    }

    private InetSocketAddress freeListenerOn(KitProvider p) throws Exception {
        InetSocketAddress at = freeAddress();
        p.listen(at, 8, new KitSwitch.Event());
        return at;
    }

    @Test
    void theProviderRestartsAtOnceOnTheSamePortAndOldHandlesAreStale() throws Exception {
        a.startup();
        b.startup();
        InetSocketAddress aAt = freeAddress();
        KitSwitch.Event ev = new KitSwitch.Event();
        SocketHandle oldListener = a.listen(aAt, 8, ev);
        SocketHandle oldClient = b.connected(aAt);
        SocketHandle oldAccepted = a.accept(oldListener, ev, ConditionDecision.CF_ACCEPT).socket();
        Overlapped peerReceive = b.recv(oldClient, 8, Overlapped.Mode.POLL).overlapped();
        a.engine.cleanup();
        assertEquals(WsaError.WSAECONNRESET, KitProvider.await(peerReceive).error(), "the peer sees a reset");

        a.startup();
        KitSwitch.Event ev2 = new KitSwitch.Event();
        SocketHandle listener = a.listen(aAt, 8, ev2);
        SocketHandle client = b.connected(aAt);
        SocketHandle accepted = a.accept(listener, ev2, ConditionDecision.CF_ACCEPT).socket();
        b.send(client, new byte[] {42}, Overlapped.Mode.POLL);
        assertArrayEquals(new byte[] {42}, a.receiveExactly(accepted, 1, 8));
        for (SocketHandle stale : List.of(oldListener, oldAccepted)) {
            WsaException e = assertThrows(WsaException.class, () -> a.engine.closeSocket(stale));
            assertEquals(WsaError.WSAENOTSOCK, e.error());
        }
    }

    @Test
    void aFailedNetworkIsReportedByTheFinalCleanupAfterEverythingWasReleased() throws Exception {
        a.startup();
        b.startup();
        InetSocketAddress bAt = freeAddress();
        KitSwitch.Event ev = new KitSwitch.Event();
        SocketHandle listener = b.listen(bAt, 8, ev);
        SocketHandle c = a.connected(bAt);
        b.accept(listener, ev, ConditionDecision.CF_ACCEPT);
        Overlapped ov = a.recv(c, 8, Overlapped.Mode.NOTIFY).overlapped();
        Assumptions.assumeTrue(backend().failNetwork(a.transport),
                backend().name() + " cannot fail its network in a test; cover WSAENETDOWN with a backend test");
        OverlappedResult r = KitProvider.await(ov);
        assertFalse(r.isSuccess());
        WsaException e = assertThrows(WsaException.class, a.engine::cleanup);
        assertEquals(WsaError.WSAENETDOWN, e.error());
        assertEquals(0, a.engine.openSockets());
        assertFalse(a.engine.isRunning());
        a.startup();
    }
}
