package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.ConnectStatus;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SanExtension;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.TransportCapabilities;

/** The socket calls' own rules (docs/rules.md, sections 3 to 6) as the engine enforces them. */
@Timeout(30)
class SocketCallsTest extends EngineTestSupport {

    @BeforeEach
    void start() throws Exception {
        startup();
    }

    private SocketHandle listenerWithRequest(RecordingSwitch.Event event) throws Exception {
        SocketHandle l = newSocket();
        engine.bind(l, LOCAL);
        engine.listen(l, Winsock.SOMAXCONN);
        engine.eventSelect(l, event, NetworkEvents.FD_ACCEPT);
        ((ScriptedTransport.ScriptedSocket) engine.socketFor(l).transport()).arrive(REMOTE);
        return l;
    }

    @Test
    @Checks({"EV-accept", "AC-condition"})
    void fdAcceptIsRecordedSignalledAndResetByASuccessfulAccept() throws Exception {
        RecordingSwitch.Event event = new RecordingSwitch.Event();
        SocketHandle l = listenerWithRequest(event);
        assertEquals(1, upcalls.eventsSet.size());
        int[] conditionCalls = {0};
        Thread caller = Thread.currentThread();
        AcceptedSocket a = engine.accept(l, (peer, data, cb) -> {
            assertEquals(caller, Thread.currentThread(), "docs/rules.md AC-condition: condition runs on the accepting thread");
            assertEquals(REMOTE, peer);
            assertEquals(42L, cb);
            conditionCalls[0]++;
            return ConditionDecision.CF_ACCEPT;
        }, 42L);
        assertEquals(1, conditionCalls[0]);
        assertEquals(REMOTE, a.peer());
        assertEquals(1, upcalls.eventsReset.get(), "the FD_ACCEPT event is reset before accept returns");
        assertFalse(engine.enumNetworkEvents(l, null).has(NetworkEvents.FD_ACCEPT));
        // The accepted socket is connected and usable.
        register(a.socket(), 16);
        assertWsa(WsaError.WSAEWOULDBLOCK, () -> engine.accept(l, (p, d, c) -> ConditionDecision.CF_ACCEPT, 0));
    }

    @Test
    @Checks({"AC-reject", "AC-defer"})
    void conditionRejectIsWsaEConnRefusedAndDeferIsWsaTryAgain() throws Exception {
        SocketHandle l = listenerWithRequest(new RecordingSwitch.Event());
        assertWsa(WsaError.WSATRY_AGAIN, () -> engine.accept(l, (p, d, c) -> ConditionDecision.CF_DEFER, 0));
        ScriptedTransport.ScriptedSocket backend = (ScriptedTransport.ScriptedSocket) engine.socketFor(l).transport();
        assertNotNull(backend.peekConnectionRequest(), "a deferred request stays queued");
        assertWsa(WsaError.WSAECONNREFUSED, () -> engine.accept(l, (p, d, c) -> ConditionDecision.CF_REJECT, 0));
        assertTrue(backend.rejectedLast);
        assertNull(backend.peekConnectionRequest());
        assertEquals(1, engine.openSockets());
    }

    @Test
    @Checks({"EV-connect", "CN-again"})
    void pendingConnectIsReportedOnceAsFdConnectWithItsResult() throws Exception {
        transport.connectAtOnce = false;
        RecordingSwitch.Event event = new RecordingSwitch.Event();
        SocketHandle s = newSocket();
        engine.bind(s, LOCAL);
        engine.eventSelect(s, event, NetworkEvents.FD_CONNECT);
        assertEquals(ConnectStatus.IN_PROGRESS, engine.connect(s, REMOTE, null));
        assertWsa(WsaError.WSAEALREADY, () -> engine.connect(s, REMOTE, null));
        transport.events.connectCompleted(engine.socketFor(s).transport(), WsaError.WSAETIMEDOUT);
        NetworkEventRecord r = engine.enumNetworkEvents(s, event);
        assertTrue(r.has(NetworkEvents.FD_CONNECT));
        assertEquals(WsaError.WSAETIMEDOUT, r.errorFor(NetworkEvents.FD_CONNECT_BIT));
        assertEquals(1, upcalls.eventsSet.size());
        assertEquals(0, engine.enumNetworkEvents(s, null).networkEvents(), "the record is cleared by enum");
    }

    @Test
    @Checks({"OV-close-aborts", "SK-handle"})
    void closeSocketAbortsItsOperationsReleasesMemoryAndClosesTheHandleLast() throws Exception {
        SocketHandle s = connectedSocket();
        long switchHandle = engine.socketFor(s).switchHandle();
        Overlapped n = postRecv(s, Overlapped.Mode.NOTIFY);
        Overlapped p = postRecv(s, Overlapped.Mode.POLL);
        SocketHandle other = connectedSocket();
        Overlapped untouched = postRecv(other, Overlapped.Mode.NOTIFY);
        engine.closeSocket(s);
        assertEquals(WsaError.WSA_OPERATION_ABORTED, n.result().error());
        assertEquals(WsaError.WSA_OPERATION_ABORTED, p.result().error());
        assertFalse(untouched.isDone());
        assertEquals(1, upcalls.handleCloses.get(switchHandle).get());
        long closeSeq = transport.firstSeq("closeSocketHandle");
        long lastCompletion = transport.journal("complete").stream().mapToLong(ScriptedTransport.Entry::seq).max().orElseThrow();
        assertTrue(lastCompletion < closeSeq, "closeSocketHandle is the last upcall for the socket");
        assertEquals(1, transport.journal("closeGracefully").size());
        assertEquals(1, transport.liveRegions.get(), "only the other socket's registration is left");
        assertWsa(WsaError.WSAENOTSOCK, () -> engine.closeSocket(s));
        // docs/rules.md Q22: the finished operation still reports its result after the close.
        assertWsa(WsaError.WSA_OPERATION_ABORTED, () -> engine.getOverlappedResult(s, p, false));
    }

    @Test
    @Checks("OV-gor")
    void getOverlappedResultReportsIncompleteThenTheOutcome() throws Exception {
        SocketHandle s = connectedSocket();
        Overlapped ov = postRecv(s, Overlapped.Mode.POLL);
        assertWsa(WsaError.WSA_IO_INCOMPLETE, () -> engine.getOverlappedResult(s, ov, false));
        assertWsa(WsaError.WSA_INVALID_PARAMETER, () -> engine.getOverlappedResult(s, Overlapped.polling(null), false));
        ScriptedTransport.ScriptedSocket backend = (ScriptedTransport.ScriptedSocket) engine.socketFor(s).transport();
        // Completes the operation only once the caller waits in getOverlappedResult: that is the
        // path under test, not the one that finds the result already there.
        Thread caller = Thread.currentThread();
        AtomicBoolean callerWaited = new AtomicBoolean();
        Thread later = new Thread(() -> {
            while (caller.getState() != Thread.State.WAITING && caller.getState() != Thread.State.TIMED_WAITING) {
                Thread.onSpinWait();
            }
            callerWaited.set(true);
            backend.completeOldest(33);
        });
        later.start();
        OverlappedResult r = engine.getOverlappedResult(s, ov, true);
        later.join();
        assertTrue(callerWaited.get(), "the caller was waiting when the operation completed");
        assertEquals(33, r.bytesTransferred());
    }

    @Test
    @Checks("OV-gor")
    void aWaitingGetOverlappedResultDoesNotHoldUpTheFinalCleanup() throws Exception {
        SocketHandle s = connectedSocket();
        Overlapped ov = postRecv(s, Overlapped.Mode.POLL);
        WsaError[] seen = new WsaError[1];
        Thread waiter = new Thread(() -> {
            try {
                engine.getOverlappedResult(s, ov, true);
            } catch (io.sanswitch.spi.WsaException e) {
                seen[0] = e.error();
            }
        });
        waiter.start();
        while (waiter.getState() != Thread.State.TIMED_WAITING && waiter.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        engine.cleanup();
        waiter.join(10_000);
        assertEquals(WsaError.WSA_OPERATION_ABORTED, seen[0]);
    }

    @Test
    @Checks("RG-inside")
    void transferBuffersMustLieInsideARegistrationOfTheSocketWithTheRightAccess() throws Exception {
        SocketHandle s = connectedSocket();
        SocketHandle other = connectedSocket();
        MemoryHandle m = register(s, 32);
        MemoryHandle readOnly = engine.registerMemory(s, ByteBuffer.allocate(32), Winsock.MEM_READ);
        MemoryHandle foreign = register(other, 32);
        assertWsa(WsaError.WSAEFAULT, () -> engine.recv(s, new WsaBuf[] {new WsaBuf(m, 16, 17)}, Overlapped.polling(null)));
        assertWsa(WsaError.WSAEFAULT, () -> engine.recv(s, new WsaBuf[] {new WsaBuf(m, -1, 4)}, Overlapped.polling(null)));
        assertWsa(WsaError.WSAEFAULT, () -> engine.recv(s, new WsaBuf[] {WsaBuf.of(foreign)}, Overlapped.polling(null)));
        assertWsa(WsaError.WSAEFAULT, () -> engine.recv(s, new WsaBuf[] {WsaBuf.of(readOnly)}, Overlapped.polling(null)));
        assertWsa(WsaError.WSAEFAULT, () -> engine.registerMemory(s, ByteBuffer.allocate(8).asReadOnlyBuffer(), Winsock.MEM_WRITE));
        Overlapped ov = Overlapped.polling(null);
        engine.send(s, new WsaBuf[] {new WsaBuf(m, 8, 8), WsaBuf.of(readOnly)}, 0, ov);
        PostedOperation op = transport.held().get(0);
        assertEquals(40, op.length());
        assertEquals(8, op.buffers()[0].remaining());
        assertWsa(WsaError.WSAEINVAL, () -> engine.send(s, new WsaBuf[] {WsaBuf.of(m)}, 0, ov));
        assertWsa(WsaError.WSAEINVAL, () -> engine.deregisterMemory(s, m));
        assertEquals(0, transport.held().size() - 1, "the refused send was not posted");
        transport.events.operationCompleted(op, 40);
        engine.deregisterMemory(s, m);
        assertWsa(WsaError.WSAEINVAL, () -> engine.deregisterMemory(s, m));
        assertWsa(WsaError.WSAEINVAL, () -> engine.deregisterMemory(other, readOnly));
    }

    @Test
    @Checks("OV-failed-call")
    void aFailedPostLeavesNothingPinnedAndTheOverlappedFree() throws Exception {
        SocketHandle s = connectedSocket();
        MemoryHandle m = register(s, 8);
        Overlapped ov = Overlapped.notifying(null);
        transport.fail(ScriptedTransport.Primitive.POST, WsaError.WSAENOBUFS);
        assertWsa(WsaError.WSAENOBUFS, () -> engine.send(s, new WsaBuf[] {WsaBuf.of(m)}, 0, ov));
        transport.fail(ScriptedTransport.Primitive.POST, null);
        assertFalse(ov.isInProgress());
        assertEquals(0, upcalls.completionsOf(ov), "a call that failed never completes");
        assertEquals(0, engine.pendingOperations());
        engine.send(s, new WsaBuf[] {WsaBuf.of(m)}, 0, ov);
        assertEquals(1, engine.pendingOperations());
    }

    @Test
    @Checks({"RD-extensions", "RD-options"})
    void extensionLookupAnswersWhatTheBackendHas() throws Exception {
        SocketHandle s = connectedSocket();
        assertEquals(SanExtension.RDMA_WRITE, engine.getExtensionFunction(s, SanExtension.RDMA_WRITE.guid()));
        assertWsa(WsaError.WSAEOPNOTSUPP, () -> engine.getExtensionFunction(s, SanExtension.RDMA_READ.guid()));
        assertWsa(WsaError.WSAEOPNOTSUPP, () -> engine.getExtensionFunction(s,
                SanExtension.MEMORY_REGISTRATION_CACHE_CALLBACK.guid()));
        ByteBuffer out = ByteBuffer.allocate(4);
        ByteBuffer guid = ByteBuffer.allocate(16).putLong(SanExtension.REGISTER_MEMORY.guid().getMostSignificantBits())
                .putLong(SanExtension.REGISTER_MEMORY.guid().getLeastSignificantBits()).flip();
        assertEquals(4, engine.ioctl(s, Winsock.SIO_GET_EXTENSION_FUNCTION_POINTER, guid, out));
        assertEquals(SanExtension.REGISTER_MEMORY.ordinal(), out.getInt(0));
        assertEquals(1 << 24, engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_MAX_RDMA_SIZE));
        assertEquals(64 * 1024, engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_RDMA_THRESHOLD_SIZE));

        // A stream-only backend answers every RDMA extension with WSAEOPNOTSUPP.
        engine.cleanup();
        transport = new ScriptedTransport(TransportCapabilities.streamOnly());
        upcalls = new RecordingSwitch(transport);
        engine = newEngine(transport);
        startup();
        SocketHandle t = connectedSocket();
        for (SanExtension e : SanExtension.values()) {
            if (e == SanExtension.REGISTER_MEMORY || e == SanExtension.DEREGISTER_MEMORY) {
                assertEquals(e, engine.getExtensionFunction(t, e.guid()));
            } else {
                assertWsa(WsaError.WSAEOPNOTSUPP, () -> engine.getExtensionFunction(t, e.guid()));
            }
        }
        assertWsa(WsaError.WSAEOPNOTSUPP, () -> engine.registerRdmaMemory(t, ByteBuffer.allocate(8), Winsock.MEM_READ));
        assertWsa(WsaError.WSAENOPROTOOPT, () -> engine.getSockOpt(t, Winsock.SOL_SOCKET, Winsock.SO_MAX_RDMA_SIZE));
    }

    @Test
    @Checks("RG-die-with-socket")
    void rdmaRegistrationsAreCountedAndDieWithTheirSocket() throws Exception {
        SocketHandle s = connectedSocket();
        var d = engine.registerRdmaMemory(s, ByteBuffer.allocate(64), Winsock.MEM_WRITE);
        assertEquals(1, transport.liveRegions.get());
        engine.deregisterRdmaMemory(s, d);
        assertEquals(0, transport.liveRegions.get());
        assertWsa(WsaError.WSAEINVAL, () -> engine.deregisterRdmaMemory(s, d));
        var d2 = engine.registerRdmaMemory(s, ByteBuffer.allocate(64), Winsock.MEM_WRITE);
        engine.closeSocket(s);
        assertEquals(0, transport.liveRegions.get());
        assertWsa(WsaError.WSAEINVAL, () -> engine.deregisterRdmaMemory(s, d2));
    }
}
