package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.PostedOperation;

/** docs/rules.md LC-a … LC-f and LC-reentrant: the final cleanup, step by step, as the scripted backend saw it. */
@Timeout(60)
class FinalCleanupSequenceTest extends EngineTestSupport {

    @Test
    @Checks({"LC-b", "LC-b-memory", "OV-abort-bytes"})
    void memoryIsReleasedBeforeTheAbortedCompletionIsObservedInBothModes() throws Exception {
        startup();
        List<Overlapped> notify = new ArrayList<>();
        List<Overlapped> poll = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            SocketHandle s = connectedSocket();
            notify.add(postRecv(s, Overlapped.Mode.NOTIFY));
            poll.add(postRecv(s, Overlapped.Mode.POLL));
        }
        // Poll-mode completion is "observed" when the switch sees its result: check at each
        // notify upcall that every operation's memory was released before any completion became
        // visible to it, which includes the poll-mode results published before.
        List<PostedOperation> ops = transport.held();
        assertEquals(8, ops.size());
        List<String> violations = new ArrayList<>();
        upcalls.insideCompletion = ov -> {
            for (PostedOperation op : ops) {
                PendingOperation p = (PendingOperation) op;
                if (p.overlapped().isDone() && (p.pinned().length != 0 || op.buffers().length != 0)) {
                    violations.add("completion of " + p + " visible while it still holds memory");
                }
            }
        };

        engine.cleanup();

        assertTrue(violations.isEmpty(), violations.toString());
        for (PostedOperation op : ops) {
            PendingOperation p = (PendingOperation) op;
            long cancel = seqOf("cancel", op);
            long release = seqOfRegion(p);
            assertTrue(cancel < release, "backend cancel before memory release for " + p);
            if (p.overlapped().mode() == Overlapped.Mode.NOTIFY) {
                long complete = seqOf("complete", p.overlapped());
                assertTrue(release < complete, "memory released before the aborted completion of " + p);
            }
            assertEquals(WsaError.WSA_OPERATION_ABORTED, p.overlapped().result().error());
            assertEquals(0, p.overlapped().result().bytesTransferred());
        }
        assertEquals(0, transport.liveRegions.get(), "every registration released");
    }

    @Test
    @Checks("LC-b")
    void pendingOperationsAreAbortedInTheOrderTheyWerePosted() throws Exception {
        // Hash order would make a FIFO backend search its queue for every cancel (quadratic in the
        // operations per socket) and complete them to the switch in no particular order.
        startup();
        SocketHandle s = connectedSocket();
        List<Overlapped> posted = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            posted.add(postRecv(s, Overlapped.Mode.NOTIFY));
        }
        List<Overlapped> completed = new ArrayList<>();
        upcalls.insideCompletion = completed::add;

        engine.cleanup();

        List<Integer> order = completed.stream().map(posted::indexOf).toList();
        assertEquals(IntStream.range(0, posted.size()).boxed().toList(), order, "aborted completions in posting order");
        List<PostedOperation> held = transport.held();
        long last = -1;
        for (PostedOperation op : held) {
            long cancel = seqOf("cancel", op);
            assertTrue(cancel > last, "backend cancels in posting order");
            last = cancel;
        }
    }

    @Test
    @Checks({"LC-b", "LC-b-memory"})
    void aBackendThatCancelsOneByOneGetsThemInBatchesEachCancelledBeforeItCompletes() throws Exception {
        // One batch of 100,000 operations made three passes through objects spread over the heap
        // (claim all, cancel all, complete all): most of NIO's final cleanup was cache misses.
        engine = new ProviderEngine(new LoopingCancel(transport),
                EngineConfig.defaults(transport.name()).withDrainTimeout(java.time.Duration.ofSeconds(5)));
        List<List<Overlapped>> posted = postMany(12, io.sanswitch.transport.Transport.DEFAULT_CANCEL_BATCH / 4 + 1);
        java.util.Map<Overlapped, Long> completedAt = new java.util.HashMap<>();
        upcalls.insideCompletion = ov -> completedAt.put(ov, ScriptedTransport.SEQUENCE.get());

        engine.cleanup();

        assertTrue(transport.journal("cancelBatch").isEmpty(), "the SPI's default, not ScriptedTransport's batch");
        java.util.Map<Overlapped, Long> cancelledAt = new java.util.HashMap<>();
        for (ScriptedTransport.Entry e : transport.journal("cancel")) {
            assertNull(cancelledAt.put(((PendingOperation) e.subject()).overlapped(), e.seq()), "cancelled twice: " + e);
        }
        long firstCompletion = Long.MAX_VALUE;
        long lastCancel = 0;
        for (List<Overlapped> ofSocket : posted) {
            for (Overlapped ov : ofSocket) {
                assertEquals(WsaError.WSA_OPERATION_ABORTED, ov.result().error(), ov.toString());
                assertEquals(1, upcalls.completionsOf(ov), ov.toString());
                assertNotNull(cancelledAt.get(ov), ov + " never cancelled in the backend");
                long cancel = cancelledAt.get(ov);
                assertTrue(completedAt.get(ov) > cancel, ov + " completed before the backend cancelled it");
                firstCompletion = Math.min(firstCompletion, completedAt.get(ov));
                lastCancel = Math.max(lastCancel, cancel);
            }
        }
        assertTrue(firstCompletion < lastCancel, "completions began before the last cancel: batches, not one pass each");
    }

    @Test
    @Checks({"LC-b"})
    void aBackendWithItsOwnBatchCancelGetsEveryOperationInOneCall() throws Exception {
        // UCX's batch cancel is one hop to its worker thread: more batches, more hops.
        List<List<Overlapped>> posted = postMany(12, io.sanswitch.transport.Transport.DEFAULT_CANCEL_BATCH / 4 + 1);

        engine.cleanup();

        List<ScriptedTransport.Entry> batches = transport.journal("cancelBatch");
        assertEquals(1, batches.size(), "one backend cancel for " + posted.size() + " sockets' operations");
        @SuppressWarnings("unchecked")
        java.util.Map<Object, List<PostedOperation>> batch = (java.util.Map<Object, List<PostedOperation>>) batches.get(0)
                .subject();
        assertEquals(posted.stream().mapToInt(List::size).sum(), batch.values().stream().mapToInt(List::size).sum());
    }

    private List<List<Overlapped>> postMany(int sockets, int perSocket) throws Exception {
        startup();
        List<List<Overlapped>> posted = new ArrayList<>();
        for (int i = 0; i < sockets; i++) {
            SocketHandle s = connectedSocket();
            List<Overlapped> ofSocket = new ArrayList<>();
            for (int j = 0; j < perSocket; j++) {
                ofSocket.add(postRecv(s, Overlapped.Mode.NOTIFY));
            }
            posted.add(ofSocket);
        }
        return posted;
    }

    /** The scripted backend without its batch calls: the SPI's defaults, one cancel per operation. */
    private static final class LoopingCancel implements io.sanswitch.transport.Transport {
        private final ScriptedTransport inner;

        LoopingCancel(ScriptedTransport inner) {
            this.inner = inner;
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public io.sanswitch.transport.TransportCapabilities capabilities() {
            return inner.capabilities();
        }

        @Override
        public void open(io.sanswitch.transport.TransportEvents events) throws WsaException {
            inner.open(events);
        }

        @Override
        public void close() {
            inner.close();
        }

        @Override
        public boolean networkSubsystemFailed() {
            return inner.networkSubsystemFailed();
        }

        @Override
        public io.sanswitch.transport.TransportSocket newSocket(int addressFamily) throws WsaException {
            return inner.newSocket(addressFamily);
        }

        @Override
        public List<java.net.InetAddress> localAddresses() throws WsaException {
            return inner.localAddresses();
        }
    }

    @Test
    @Checks({"LC-b", "LC-order"})
    void theBackendGetsEveryPendingOperationInOneCancelAndEverySocketInOneReset() throws Exception {
        // A backend whose cancel is a hop to its own thread (UCX) made the final cleanup grow with
        // sockets times operations when it was asked once per operation.
        startup();
        List<SocketHandle> sockets = new ArrayList<>();
        List<List<Overlapped>> posted = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SocketHandle s = connectedSocket();
            sockets.add(s);
            List<Overlapped> ofSocket = new ArrayList<>();
            for (int j = 0; j < 5; j++) {
                ofSocket.add(postRecv(s, j % 2 == 0 ? Overlapped.Mode.NOTIFY : Overlapped.Mode.POLL));
            }
            posted.add(ofSocket);
        }
        connectedSocket(); // open, nothing pending: reset, but not in the cancel
        List<Object> backendSockets = new ArrayList<>();
        for (SocketHandle s : sockets) {
            backendSockets.add(engine.socketFor(s).transport());
        }
        List<PostedOperation> held = transport.held();
        List<Overlapped> completed = new ArrayList<>();
        upcalls.insideCompletion = completed::add;

        engine.cleanup();

        List<ScriptedTransport.Entry> cancels = transport.journal("cancelBatch");
        assertEquals(1, cancels.size(), "one backend cancel for the whole cleanup");
        @SuppressWarnings("unchecked")
        java.util.Map<Object, List<PostedOperation>> batch = (java.util.Map<Object, List<PostedOperation>>) cancels.get(0)
                .subject();
        assertEquals(3, batch.size(), "the sockets with pending operations, and only those: " + batch.keySet());
        for (int i = 0; i < sockets.size(); i++) {
            List<Overlapped> handed = batch.get(backendSockets.get(i)).stream()
                    .map(op -> ((PendingOperation) op).overlapped()).toList();
            assertEquals(posted.get(i), handed, "socket " + i + "'s operations, in posting order");
        }
        assertEquals(held.size(), transport.journal("cancel").size(), "the default cancelled each operation once");
        List<ScriptedTransport.Entry> resets = transport.journal("resetBatch");
        assertEquals(1, resets.size(), "one backend reset for the whole cleanup");
        assertEquals(4, ((List<?>) resets.get(0).subject()).size(), "every open socket, the idle one too");
        assertEquals(4, transport.journal("reset").size());
        assertTrue(cancels.get(0).seq() < resets.get(0).seq(), "step b before step c");
        for (List<Overlapped> ofSocket : posted) {
            for (Overlapped ov : ofSocket) {
                assertEquals(WsaError.WSA_OPERATION_ABORTED, ov.result().error(), ov.toString());
                assertEquals(ov.mode() == Overlapped.Mode.NOTIFY ? 1 : 0, upcalls.completionsOf(ov), ov.toString());
            }
        }
        for (List<Overlapped> ofSocket : posted) {
            List<Overlapped> notifyInOrder = ofSocket.stream().filter(ov -> ov.mode() == Overlapped.Mode.NOTIFY).toList();
            assertEquals(notifyInOrder, completed.stream().filter(ofSocket::contains).toList(),
                    "a socket's operations complete in posting order");
        }
        assertEquals(0, engine.openSockets());
    }

    @Test
    @Checks({"LC-b", "OV-notify", "OV-poll"})
    void notifyModeAbortsCompleteOnceThroughTheUpcallAndPollModeAbortsOnlyPublish() throws Exception {
        startup();
        SocketHandle s = connectedSocket();
        Overlapped n = postRecv(s, Overlapped.Mode.NOTIFY);
        Overlapped p = postRecv(s, Overlapped.Mode.POLL);
        engine.cleanup();
        assertEquals(1, upcalls.completionsOf(n));
        assertEquals(0, upcalls.completionsOf(p), "docs/rules.md Q3: no upcall for a poll-mode operation");
        assertEquals(WsaError.WSA_OPERATION_ABORTED, n.result().error());
        assertEquals(WsaError.WSA_OPERATION_ABORTED, p.result().error());
    }

    @Test
    @Checks({"LC-order", "LC-c", "LC-c-handle", "LC-d"})
    void openSocketsAreResetAndTheirHandlesClosedAsTheLastUpcallThenTheTransportReleased() throws Exception {
        startup();
        List<SocketHandle> sockets = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            SocketHandle s = i % 2 == 0 ? connectedSocket() : newSocket();
            sockets.add(s);
            if (i % 2 == 0) {
                postRecv(s, Overlapped.Mode.NOTIFY);
            }
        }
        List<Long> switchHandles = new ArrayList<>();
        for (SocketHandle s : sockets) {
            switchHandles.add(engine.socketFor(s).switchHandle());
        }
        engine.cleanup();

        assertEquals(0, transport.liveSockets.get(), "every backend socket reset");
        assertEquals(5, transport.journal("reset").size());
        assertTrue(transport.journal("closeGracefully").isEmpty(), "the final cleanup resets, it does not close gracefully");
        long lastCompletion = transport.journal("complete").stream().mapToLong(ScriptedTransport.Entry::seq).max().orElseThrow();
        long firstReset = transport.firstSeq("reset");
        assertTrue(lastCompletion < firstReset, "step b (aborts) before step c (resets)");
        for (long h : switchHandles) {
            assertEquals(1, upcalls.handleCloses.get(h).get(), "closeSocketHandle exactly once for " + h);
            long closeSeq = transport.journal("closeSocketHandle").stream().filter(e -> e.subject().equals(h))
                    .mapToLong(ScriptedTransport.Entry::seq).min().orElseThrow();
            long lastOtherUpcall = transport.journal.stream()
                    .filter(e -> e.what().equals("complete") || e.what().equals("createSocketHandle") && e.subject().equals(h))
                    .mapToLong(ScriptedTransport.Entry::seq).max().orElse(0);
            assertTrue(closeSeq > lastOtherUpcall || closeSeq > transport.firstSeq("reset"),
                    "closeSocketHandle is the last upcall for " + h);
        }
        assertTrue(transport.firstSeq("close") > transport.journal("reset").stream()
                .mapToLong(ScriptedTransport.Entry::seq).max().orElseThrow(), "step d after step c");
        assertEquals(0, engine.openSockets());
        assertEquals(5, engine.lastCleanupReport().socketsReset());
    }

    @Test
    @Checks("LC-a")
    void noNetworkEventIsObservedAfterCleanupBeganWhileAnotherThreadRaisesEventsContinuously() throws Exception {
        startup();
        SocketHandle listener = newSocket();
        engine.bind(listener, LOCAL);
        engine.listen(listener, 16);
        engine.eventSelect(listener, new RecordingSwitch.Event(), NetworkEvents.FD_ACCEPT);
        ScriptedTransport.ScriptedSocket backend = (ScriptedTransport.ScriptedSocket) engine.socketFor(listener).transport();
        SocketHandle connected = connectedSocket();
        postRecv(connected, Overlapped.Mode.NOTIFY);

        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch raising = new CountDownLatch(1);
        AtomicLong raised = new AtomicLong();
        Thread raiser = new Thread(() -> {
            while (!stop.get()) {
                transport.events.connectionRequested(backend); // the engine records and signals on this thread
                raised.incrementAndGet();
                raising.countDown();
            }
        }, "event-raiser");
        raiser.start();
        try {
            assertTrue(raising.await(10, TimeUnit.SECONDS));
            while (upcalls.eventsSet.size() < 100) {
                Thread.onSpinWait();
            }
            engine.cleanup();
            // Some more events raised after the cleanup returned must not arrive either.
            long afterCleanup = ScriptedTransport.SEQUENCE.get();
            // Positive signal that the window passed: events raised entirely after the return were
            // handed to the engine and it returned from them (it signals synchronously).
            long raisedAtReturn = raised.get();
            Eventually.until("100 events raised after the cleanup returned", () -> raised.get() > raisedAtReturn + 100);
            stop.set(true);
            raiser.join(10_000);
            assertFalse(raiser.isAlive());

            long cleanupBegan = Math.min(transport.firstSeq("cancel"), transport.firstSeq("reset"));
            assertTrue(cleanupBegan != Long.MAX_VALUE, "cleanup ran steps b and c");
            long lastEvent = upcalls.eventsSet.stream().mapToLong(Long::longValue).max().orElseThrow();
            assertTrue(upcalls.eventsSet.size() >= 100);
            assertTrue(lastEvent < cleanupBegan, "an FD_* event was signalled after cleanup began (event seq "
                    + lastEvent + ", first cleanup step " + cleanupBegan + ")");
            assertTrue(upcalls.eventsSet.stream().noneMatch(seq -> seq > afterCleanup));
        } finally {
            stop.set(true);
            raiser.join(10_000);
        }
    }

    @Test
    @Checks({"LC-b", "LC-race"})
    void aFailureTheBackendReportsOnceTheCleanupBeganEndsAbortedAndASuccessStaysASuccess() throws Exception {
        // A backend may fail a pending operation while the cleanup runs, e.g. with the reset its
        // own forced close of a sibling socket caused (UCX): the operation was pending when the
        // cleanup began, so it ends with WSA_OPERATION_ABORTED all the same.
        startup();
        SocketHandle listener = newSocket();
        engine.bind(listener, LOCAL);
        engine.listen(listener, 16);
        engine.eventSelect(listener, new RecordingSwitch.Event(), NetworkEvents.FD_ACCEPT);
        ScriptedTransport.ScriptedSocket listening = (ScriptedTransport.ScriptedSocket) engine.socketFor(listener).transport();
        SocketHandle s = connectedSocket();
        Overlapped failing = postRecv(s, Overlapped.Mode.NOTIFY);
        Overlapped succeeding = postRecv(s, Overlapped.Mode.POLL);
        List<PostedOperation> pending = transport.held();
        assertEquals(2, pending.size());

        // A call in progress holds the cleanup in step a, after the gate closed; from inside it the
        // backend reports both pending operations.
        CountDownLatch inPost = new CountDownLatch(1);
        AtomicReference<Throwable> posterFailed = new AtomicReference<>();
        transport.insidePost = op -> {
            transport.insidePost = null;
            inPost.countDown();
            // Positive signal that the gate closed: an event raised now is dropped.
            try {
                Eventually.until("the notification gate closed", () -> {
                    int before = upcalls.eventsSet.size();
                    transport.events.connectionRequested(listening);
                    return upcalls.eventsSet.size() == before;
                });
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            transport.events.operationFailed(pending.get(0), WsaError.WSAECONNRESET, 0);
            transport.events.operationCompleted(pending.get(1), 7);
        };
        Thread poster = new Thread(() -> {
            try {
                postRecv(s, Overlapped.Mode.NOTIFY);
            } catch (Throwable t) {
                posterFailed.set(t);
            }
        }, "poster-inside-backend");
        poster.start();
        assertTrue(inPost.await(10, TimeUnit.SECONDS));

        engine.cleanup();
        poster.join(10_000);

        assertNull(posterFailed.get());
        assertEquals(WsaError.WSA_OPERATION_ABORTED, failing.result().error(), "failure reported after the gate closed");
        assertEquals(1, upcalls.completionsOf(failing));
        assertTrue(succeeding.result().isSuccess(), "a success stays a success: " + succeeding.result());
        assertEquals(7, succeeding.result().bytesTransferred());
    }

    @Test
    @Checks("LC-f")
    void startupWorksAgainRightAfterTheFinalCleanup() throws Exception {
        for (int round = 1; round <= 3; round++) {
            startup();
            SocketHandle s = connectedSocket();
            postRecv(s, Overlapped.Mode.NOTIFY);
            engine.cleanup();
            assertEquals(LifecycleState.IDLE, engine.lifecycleState());
            assertEquals(round, transport.opens.get());
            assertEquals(round, transport.closes.get());
        }
        startup();
        SocketHandle s = connectedSocket();
        Overlapped ov = postRecv(s, Overlapped.Mode.POLL);
        ((ScriptedTransport.ScriptedSocket) engine.socketFor(s).transport()).completeOldest(12);
        OverlappedResult r = engine.getOverlappedResult(s, ov, false);
        assertEquals(12, r.bytesTransferred());
    }

    @Test
    @Checks("LC-stale")
    void handlesOfAnEarlierRunAreWsaENotSockAfterRestart() throws Exception {
        startup();
        SocketHandle old = connectedSocket();
        engine.cleanup();
        startup();
        SocketHandle fresh = connectedSocket();
        assertTrue(fresh.generation() > old.generation());
        assertWsa(WsaError.WSAENOTSOCK, () -> engine.bind(old, LOCAL));
        assertWsa(WsaError.WSAENOTSOCK, () -> engine.closeSocket(old));
        assertWsa(WsaError.WSAENOTSOCK, () -> engine.recv(old, new io.sanswitch.spi.WsaBuf[0], Overlapped.polling(null)));
        assertWsa(WsaError.WSAENOTSOCK, () -> engine.enumNetworkEvents(old, null));
        assertWsa(WsaError.WSAEINVAL, () -> engine.deregisterMemory(old, null));
        // The live socket is untouched by the stale calls.
        assertEquals(1, engine.openSockets());
        engine.closeSocket(fresh);
    }

    @Test
    @Checks({"LC-e", "LC-order"})
    void networkDownIsReportedOnlyAfterEverythingWasReleased() throws Exception {
        startup();
        SocketHandle s = connectedSocket();
        Overlapped n = postRecv(s, Overlapped.Mode.NOTIFY);
        Overlapped p = postRecv(s, Overlapped.Mode.POLL);
        transport.events.networkSubsystemFailed("scripted link down");
        transport.networkFailed = true;

        assertWsa(WsaError.WSAENETDOWN, () -> engine.bind(s, LOCAL));
        assertWsa(WsaError.WSAENETDOWN, engine::cleanup);

        assertEquals(WsaError.WSA_OPERATION_ABORTED, n.result().error());
        assertEquals(WsaError.WSA_OPERATION_ABORTED, p.result().error());
        assertEquals(0, transport.liveSockets.get());
        assertEquals(0, transport.liveRegions.get());
        assertEquals(1, transport.closes.get());
        assertEquals(0, engine.openSockets());
        assertEquals(LifecycleState.IDLE, engine.lifecycleState());
        assertTrue(engine.lastCleanupReport().networkDown());
        // Restartable at once, and the new run's network is fine.
        startup();
        connectedSocket();
        engine.cleanup();
    }

    @Test
    @Checks("LC-reentrant")
    void cleanupCalledFromInsideACompletionUpcallRunsOnThatThreadWithoutDeadlock() throws Exception {
        startup();
        SocketHandle s = connectedSocket();
        Overlapped first = postRecv(s, Overlapped.Mode.NOTIFY);
        Overlapped second = postRecv(s, Overlapped.Mode.NOTIFY);
        Overlapped third = postRecv(s, Overlapped.Mode.POLL);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<WsaError> nested = new AtomicReference<>();
        upcalls.insideCompletion = ov -> {
            if (ov == first) {
                try {
                    engine.cleanup();
                } catch (Throwable e) {
                    failure.set(e);
                }
            } else if (ov == second) {
                // A cleanup from inside an aborted completion of the final cleanup itself.
                try {
                    engine.cleanup();
                    failure.set(new AssertionError("nested cleanup succeeded"));
                } catch (WsaException e) {
                    nested.set(e.error());
                }
            }
        };
        ScriptedTransport.ScriptedSocket backend = (ScriptedTransport.ScriptedSocket) engine.socketFor(s).transport();
        Thread completer = new Thread(() -> backend.completeOldest(3), "backend-completer");
        completer.start();
        completer.join(20_000);
        assertFalse(completer.isAlive(), "deadlock: cleanup inside the upcall never returned");
        assertNull(failure.get());
        assertEquals(WsaError.WSANOTINITIALISED, nested.get());
        assertTrue(first.result().isSuccess());
        assertEquals(WsaError.WSA_OPERATION_ABORTED, second.result().error());
        assertEquals(WsaError.WSA_OPERATION_ABORTED, third.result().error());
        assertEquals(1, upcalls.completionsOf(first));
        assertEquals(1, upcalls.completionsOf(second));
        assertEquals(LifecycleState.IDLE, engine.lifecycleState());
        assertEquals(1, transport.closes.get());
    }

    @Test
    @Checks("LC-reentrant")
    void startupFromInsideTheFinalCleanupIsRefusedNotDeadlocked() throws Exception {
        startup();
        SocketHandle s = connectedSocket();
        Overlapped ov = postRecv(s, Overlapped.Mode.NOTIFY);
        AtomicReference<WsaError> seen = new AtomicReference<>();
        upcalls.insideCompletion = o -> {
            try {
                startup();
            } catch (WsaException e) {
                seen.set(e.error());
            }
        };
        engine.cleanup();
        assertEquals(WsaError.WSASYSNOTREADY, seen.get());
        assertNotNull(ov.result());
        upcalls.insideCompletion = o -> { };
        startup();
    }

    @Test
    @Checks("LC-bundle-stop")
    void finalCleanupWhateverTheCountMakesOtherReferencesStale() throws Exception {
        startup();
        startup();
        startup();
        SocketHandle s = connectedSocket();
        Overlapped ov = postRecv(s, Overlapped.Mode.NOTIFY);
        assertTrue(engine.finalCleanup(CleanupReason.TRANSPORT_LEAVING));
        assertEquals(WsaError.WSA_OPERATION_ABORTED, ov.result().error());
        assertWsa(WsaError.WSANOTINITIALISED, engine::cleanup);
        assertFalse(engine.finalCleanup(CleanupReason.TRANSPORT_LEAVING));
    }

    private long seqOf(String what, Object subject) {
        return transport.journal(what).stream().filter(e -> e.subject() == subject).mapToLong(ScriptedTransport.Entry::seq)
                .findFirst().orElseGet(() -> fail("no " + what + " for " + subject));
    }

    /** When the backend released the (only) registration this operation used. */
    private long seqOfRegion(PendingOperation op) {
        return seqOf("deregister", op.regions()[0]);
    }
}
