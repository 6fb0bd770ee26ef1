package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * What {@code san:providers}, {@code san:sockets} and {@code san:cleanup-history} read: the figures
 * must be the engine's own counts of what happened, checked here against what the test made
 * happen through the scripted backend.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DiagnosticsTest extends EngineTestSupport {

    @Test
    void statusShowsStateCountSocketsPendingOperationsAndGeneration() throws Exception {
        ProviderStatus idle = engine.status();
        assertEquals(new ProviderStatus("scripted", "IDLE", 0, 0, 0, 0, 0), idle);

        startup();
        startup();
        SocketHandle a = connectedSocket();
        connectedSocket();
        newSocket();
        postRecv(a, Overlapped.Mode.NOTIFY);
        postRecv(a, Overlapped.Mode.POLL);
        assertEquals(new ProviderStatus("scripted", "RUNNING", 2, 3, 2, 1, 0), engine.status());

        engine.cleanup();
        engine.cleanup();
        assertEquals(new ProviderStatus("scripted", "IDLE", 0, 0, 0, 1, 1), engine.status());
        startup();
        assertEquals(2, engine.status().generation(), "a new run, a new generation");
    }

    @Test
    void aFinalCleanupIsRecordedWithTheOperationsItAbortedTheSocketsItResetAndNoError() throws Exception {
        startup();
        SocketHandle a = connectedSocket();
        SocketHandle b = connectedSocket();
        newSocket();
        postRecv(a, Overlapped.Mode.NOTIFY);
        postRecv(a, Overlapped.Mode.POLL);
        postRecv(b, Overlapped.Mode.NOTIFY);
        assertTrue(transport.sockets.get(1).completeOldest(5), "one receive completes before the cleanup");

        Instant before = Instant.now();
        engine.cleanup();
        Instant after = Instant.now();

        List<CleanupRecord> history = engine.cleanupHistory();
        assertEquals(1, history.size());
        CleanupRecord r = history.get(0);
        assertEquals("scripted", r.provider());
        assertEquals(1, r.generation());
        assertEquals(CleanupReason.COUNT_REACHED_ZERO, r.reason());
        assertEquals(2, r.operationsAborted(), "the two receives still pending, not the completed one");
        assertEquals(3, r.socketsReset());
        assertEquals(3, transport.journal("reset").size(), "as many resets as the record says");
        assertNull(r.result());
        assertEquals(0, r.resultCode());
        assertEquals(0, r.stepsFailed());
        assertFalse(r.started().isBefore(before) || r.started().isAfter(after), r.started().toString());
        assertTrue(r.durationNanos() > 0 && r.durationNanos() <= java.time.Duration.between(before, after).toNanos()
                + 1_000_000, "duration " + r.durationNanos());
    }

    @Test
    void theRecordSplitsItsDurationOverTheSteps() throws Exception {
        startup();
        for (int i = 0; i < 3; i++) {
            postRecv(connectedSocket(), Overlapped.Mode.NOTIFY);
        }
        engine.cleanup();
        CleanupRecord r = engine.cleanupHistory().get(0);
        CleanupSteps steps = r.steps();
        assertNotEquals(CleanupSteps.UNKNOWN, steps, "the sequence measured its steps");
        assertTrue(steps.gateNanos() >= 0 && steps.abortNanos() > 0 && steps.resetNanos() > 0
                && steps.transportNanos() >= 0, steps.toString());
        assertTrue(steps.sumNanos() <= r.durationNanos(), steps + " within " + r.durationNanos() + " ns");
    }

    @Test
    @Checks("LC-e")
    void aFailedNetworkIsRecordedAsWsaENetDownWithItsNumber() throws Exception {
        startup();
        postRecv(connectedSocket(), Overlapped.Mode.NOTIFY);
        transport.networkFailed = true;
        WsaException e = assertThrows(WsaException.class, engine::cleanup);
        assertEquals(WsaError.WSAENETDOWN, e.error());

        CleanupRecord r = engine.cleanupHistory().get(0);
        assertEquals(WsaError.WSAENETDOWN, r.result());
        assertEquals(10050, r.resultCode());
        assertEquals(1, r.operationsAborted());
        assertEquals(1, r.socketsReset());
    }

    @Test
    @Checks("LC-bundle-stop")
    void aBundleStopIsRecordedAsTransportLeavingWhateverTheCount() throws Exception {
        startup();
        startup();
        startup();
        connectedSocket();
        assertTrue(engine.finalCleanup(CleanupReason.TRANSPORT_LEAVING));
        CleanupRecord r = engine.cleanupHistory().get(0);
        assertEquals(CleanupReason.TRANSPORT_LEAVING, r.reason());
        assertEquals(1, r.socketsReset());
        assertFalse(engine.finalCleanup(CleanupReason.TRANSPORT_LEAVING), "nothing to clean up");
        assertEquals(1, engine.cleanupHistory().size(), "a cleanup that did not run is not recorded");
    }

    @Test
    void theLastHoldersCleanupWhileTheBackendLeavesIsRecordedAsTransportLeaving() throws Exception {
        // A bundle stop: the core marks the engine leaving and unregisters it; the switch, the only
        // holder, releases its startup, and that cleanup is the final one. It ran because the
        // backend leaves, which is what the history must say.
        startup();
        connectedSocket();
        engine.markLeaving();
        engine.cleanup();
        assertEquals(CleanupReason.TRANSPORT_LEAVING, engine.cleanupHistory().get(0).reason());
        assertEquals(1, engine.cleanupHistory().get(0).socketsReset());
        assertFalse(engine.finalCleanup(CleanupReason.TRANSPORT_LEAVING), "the core's forced one finds nothing left");
        assertEquals(1, engine.cleanupHistory().size());
    }

    @Test
    @Checks("LC-order")
    void aCleanupStepThatThrowsIsCountedAndTheRecordStillWritten() throws Exception {
        startup();
        connectedSocket();
        transport.crash = true;
        engine.cleanup();
        CleanupRecord r = engine.cleanupHistory().get(0);
        assertEquals(1, r.stepsFailed(), "the transport's close threw (step d)");
        assertEquals(1, r.socketsReset());
    }

    @Test
    void theHistoryKeepsTheLastSixteenOldestFirst() throws Exception {
        for (int run = 1; run <= 20; run++) {
            startup();
            for (int s = 0; s < run % 4; s++) {
                connectedSocket();
            }
            engine.cleanup();
        }
        List<CleanupRecord> history = engine.cleanupHistory();
        assertEquals(CleanupHistory.DEFAULT_CAPACITY, history.size());
        for (int i = 0; i < history.size(); i++) {
            long generation = 5 + i;
            assertEquals(generation, history.get(i).generation());
            assertEquals(generation % 4, history.get(i).socketsReset(), "generation " + generation);
        }
        assertEquals(20, engine.status().finalCleanups(), "the count goes on past what the history keeps");
    }

    @Test
    void socketsShowPeerAddressesAndTheBytesOfCompletedTransfersEachWay() throws Exception {
        startup();
        SocketHandle a = connectedSocket();
        MemoryHandle m = register(a, 100);
        Overlapped send = Overlapped.notifying(null);
        engine.send(a, new WsaBuf[] {WsaBuf.of(m)}, 0, send);
        postRecv(a, Overlapped.Mode.NOTIFY);
        ScriptedTransport.ScriptedSocket backend = transport.sockets.get(0);
        assertTrue(backend.completeOldest(100)); // the send
        assertTrue(backend.completeOldest(37)); // the receive, partly filled
        postRecv(a, Overlapped.Mode.NOTIFY);

        SocketHandle listener = newSocket();
        engine.bind(listener, new InetSocketAddress(InetAddress.getLoopbackAddress(), 7100));
        engine.listen(listener, 1);
        InetSocketAddress peer = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40000);
        transport.sockets.get(1).arrive(peer);
        engine.accept(listener, (p, d, cb) -> io.sanswitch.spi.ConditionDecision.CF_ACCEPT, 0);

        List<SocketStatus> sockets = engine.sockets();
        assertEquals(3, sockets.size());
        SocketStatus first = sockets.get(0);
        assertEquals("CONNECTED", first.role());
        assertEquals(LOCAL, first.local());
        assertEquals(REMOTE, first.peer());
        assertEquals(37, first.bytesIn());
        assertEquals(100, first.bytesOut());
        assertEquals(1, first.pendingOperations());
        assertTrue(first.switchHandle() > 0);
        assertEquals("LISTENING", sockets.get(1).role());
        assertNull(sockets.get(1).peer());
        assertEquals("CONNECTED", sockets.get(2).role());
        assertEquals(peer, sockets.get(2).peer());
        assertEquals(0, sockets.get(2).bytesIn());
    }

    @Test
    void theProvidersByteTotalsKeepTheBytesOfClosedSocketsAndEarlierRuns() throws Exception {
        startup();
        SocketHandle a = connectedSocket();
        MemoryHandle m = register(a, 100);
        engine.send(a, new WsaBuf[] {WsaBuf.of(m)}, 0, Overlapped.notifying(null));
        postRecv(a, Overlapped.Mode.NOTIFY);
        ScriptedTransport.ScriptedSocket backend = transport.sockets.get(0);
        assertTrue(backend.completeOldest(100)); // the send
        assertTrue(backend.completeOldest(37)); // the receive
        engine.closeSocket(a);
        assertEquals(List.of(), engine.sockets(), "the socket is gone from the listing");
        assertEquals(37, engine.bytesReceived());
        assertEquals(100, engine.bytesSent());

        engine.cleanup();
        startup();
        SocketHandle b = connectedSocket();
        postRecv(b, Overlapped.Mode.NOTIFY);
        assertTrue(transport.sockets.get(1).completeOldest(5));
        assertEquals(42, engine.bytesReceived(), "a new run adds to the totals");
        assertEquals(100, engine.bytesSent());
    }
}
