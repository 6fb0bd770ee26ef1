package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.SpiCall;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The SPI data path over real connections of the backend under test: connect and accept with
 * their events, refusal, ordered transfers from 1 B to 16 MiB, partial receives, graceful close
 * versus reset, and the calls' error codes held to their lists (docs/rules.md ERR-*).
 */
public abstract class DataPathConformance extends KitTestBase {

    private SocketHandle listener;
    private KitSwitch.Event accepts;
    private InetSocketAddress at;

    private void startBoth() throws Exception {
        a.startup();
        b.startup();
        accepts = new KitSwitch.Event();
        at = freeAddress();
        listener = b.listen(at, 16, accepts);
    }

    @Test
    @Checks({"EV-connect", "EV-accept", "AC-condition", "DP-first-message"})
    void connectIsReportedAsFdConnectAndTheRequestAsFdAcceptResetByAccept() throws Exception {
        startBoth();
        SocketHandle c = a.socket();
        KitSwitch.Event connectEvent = new KitSwitch.Event();
        a.startConnect(c, at, connectEvent);
        assertTrue(accepts.await(KitProvider.WAIT_SECONDS, TimeUnit.SECONDS), "FD_ACCEPT signalled");
        int resetsBefore = accepts.resets();
        NetworkEventRecord r = b.engine.enumNetworkEvents(listener, accepts);
        assertTrue(r.has(NetworkEvents.FD_ACCEPT), r.toString());
        assertEquals(resetsBefore + 1, accepts.resets(), "docs/rules.md EV-connect: enumNetworkEvents resets the event");
        Thread caller = Thread.currentThread();
        AcceptedSocket s = b.engine.accept(listener, (peer, data, cb) -> {
            assertEquals(caller, Thread.currentThread(), "docs/rules.md AC-condition: the condition function runs on the accepting thread");
            assertEquals(at.getAddress(), peer.getAddress());
            return ConditionDecision.CF_ACCEPT;
        }, 7);
        assertNotNull(s.peer());
        assertEquals(resetsBefore + 2, accepts.resets(), "docs/rules.md EV-accept: a successful accept resets the event");
        assertTrue(connectEvent.await(KitProvider.WAIT_SECONDS, TimeUnit.SECONDS), "FD_CONNECT signalled");
        int connectResets = connectEvent.resets();
        assertEquals(null, a.engine.enumNetworkEvents(c, connectEvent).errorFor(NetworkEvents.FD_CONNECT_BIT),
                "FD_CONNECT with success");
        assertEquals(connectResets + 1, connectEvent.resets(), "docs/rules.md EV-connect: enumNetworkEvents resets the event");
        a.send(c, new byte[] {9}, Overlapped.Mode.NOTIFY);
        assertArrayEquals(new byte[] {9}, b.receiveExactly(s.socket(), 1, 4));
    }

    @Test
    @Checks("AC-reject")
    void aRequestRefusedByTheConditionFunctionIsRefusedAtThePeer() throws Exception {
        startBoth();
        SocketHandle c = a.socket();
        KitSwitch.Event connectEvent = new KitSwitch.Event();
        a.startConnect(c, at, connectEvent);
        assertTrue(accepts.await(KitProvider.WAIT_SECONDS, TimeUnit.SECONDS));
        WsaException refused = assertThrows(WsaException.class,
                () -> b.engine.accept(listener, (peer, data, cb) -> ConditionDecision.CF_REJECT, 0));
        assertEquals(WsaError.WSAECONNREFUSED, refused.error());
        assertTrue(connectEvent.await(KitProvider.WAIT_SECONDS, TimeUnit.SECONDS), "FD_CONNECT at the peer");
        WsaError connectStatus = a.engine.enumNetworkEvents(c, connectEvent).errorFor(NetworkEvents.FD_CONNECT_BIT);
        if (backend().refusalFailsConnect()) {
            assertEquals(WsaError.WSAECONNREFUSED, connectStatus);
        } else if (connectStatus != null) {
            // The refusal reached the peer before its connect was reported.
            assertEquals(WsaError.WSAECONNREFUSED, connectStatus);
        } else {
            // The handshake completed before the condition function ran: the refusal is a reset.
            OverlappedResult first = KitProvider.await(a.recv(c, 8, Overlapped.Mode.POLL).overlapped());
            assertEquals(WsaError.WSAECONNRESET, first.error());
        }
        assertEquals(0, b.engine.openSockets() - 1, "the refused request left no socket behind");
    }

    @Test
    @Checks({"OV-notify", "OV-poll", "OV-order"})
    void transfersFrom1ByteTo16MiBArriveInOrderAndUnchanged() throws Exception {
        startBoth();
        KitProvider.Pair cPair = a.connectTo(b, listener, accepts, at);
        SocketHandle c = cPair.client();
        SocketHandle s = cPair.server();
        Random random = new Random(1);
        int[] sizes = {1, 2, 1000, 65_536, 1 << 20, 16 << 20};
        List<byte[]> sent = new ArrayList<>();
        List<Overlapped> sends = new ArrayList<>();
        int total = 0;
        for (int size : sizes) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            sent.add(data);
            total += size;
            // Posted back to back, in both modes by turns: completion and wire order follow posting
            // order (docs/rules.md OV-order).
            sends.add(a.send(c, data, sends.size() % 2 == 0 ? Overlapped.Mode.NOTIFY : Overlapped.Mode.POLL));
        }
        byte[] received = b.receiveExactly(s, total, 1 << 20);
        int offset = 0;
        for (byte[] data : sent) {
            byte[] part = new byte[data.length];
            System.arraycopy(received, offset, part, 0, data.length);
            assertArrayEquals(data, part, data.length + "-byte transfer");
            offset += data.length;
        }
        long previous = 0;
        for (int i = 0; i < sends.size(); i++) {
            Overlapped send = sends.get(i);
            assertEquals(sizes[i], KitProvider.await(send).bytesTransferred());
            a.assertCompletedOnce(send, null);
            if (send.mode() == Overlapped.Mode.NOTIFY) {
                long seq = a.upcalls.completionSeqOf(send);
                assertTrue(seq > previous, "the " + sizes[i] + "-byte send completed before one posted earlier");
                previous = seq;
            }
        }
    }

    @Test
    @Checks("OV-handle")
    void everyUpcallAboutASocketCarriesTheHandleTheSwitchGaveThatSocket() throws Exception {
        startBoth();
        List<KitProvider.Pair> pairs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            pairs.add(a.connectTo(b, listener, accepts, at));
        }
        // Several sockets busy at once: a receive on each accepted socket, sends posted in the
        // reverse order, then receives on each client that closeSocket and the final cleanup abort.
        Map<Overlapped, SocketHandle> onA = new LinkedHashMap<>();
        Map<Overlapped, SocketHandle> onB = new LinkedHashMap<>();
        for (KitProvider.Pair p : pairs) {
            onB.put(b.recv(p.server(), 16, Overlapped.Mode.NOTIFY).overlapped(), p.server());
        }
        for (int i = pairs.size() - 1; i >= 0; i--) {
            onA.put(a.send(pairs.get(i).client(), new byte[] {(byte) i}, Overlapped.Mode.NOTIFY), pairs.get(i).client());
        }
        for (Overlapped ov : List.copyOf(onA.keySet())) {
            a.assertCompletedOnce(ov, null);
        }
        for (Overlapped ov : onB.keySet()) {
            b.assertCompletedOnce(ov, null);
        }
        for (KitProvider.Pair p : pairs) {
            onA.put(a.recv(p.client(), 16, Overlapped.Mode.NOTIFY).overlapped(), p.client());
        }
        a.engine.closeSocket(pairs.get(1).client());
        a.engine.cleanup();
        b.engine.cleanup();

        assertUpcallsCarriedTheirSocketsHandles(a, onA, pairs.stream().map(KitProvider.Pair::client).toList());
        List<SocketHandle> ofB = new ArrayList<>(pairs.stream().map(KitProvider.Pair::server).toList());
        ofB.add(listener);
        assertUpcallsCarriedTheirSocketsHandles(b, onB, ofB);
    }

    /** docs/rules.md OV-handle: each completion and each closeSocketHandle carried its own socket's handle. */
    private static void assertUpcallsCarriedTheirSocketsHandles(KitProvider p, Map<Overlapped, SocketHandle> postedOn,
            List<SocketHandle> sockets) throws InterruptedException {
        for (Map.Entry<Overlapped, SocketHandle> e : postedOn.entrySet()) {
            assertEquals(1, p.upcalls.settledCompletionsOf(e.getKey()), "completion upcalls of " + e.getKey());
            assertEquals(List.of(p.upcalls.handleOf(e.getValue())), p.upcalls.completionHandlesOf(e.getKey()),
                    "the handle the completion of " + e.getKey() + " (posted on " + e.getValue() + ") carried");
        }
        Set<Long> given = new HashSet<>();
        for (SocketHandle s : sockets) {
            Long h = p.upcalls.handleOf(s);
            assertNotNull(h, "no handle was asked for " + s);
            given.add(h);
            assertEquals(1, p.upcalls.closesOf(h), "closeSocketHandle for " + s + "'s handle " + h);
        }
        assertEquals(sockets.size(), given.size(), "distinct handles for distinct sockets: " + given);
        assertEquals(given, p.upcalls.closedHandles(), "the handles closeSocketHandle carried");
    }

    @Test
    @Checks("OV-notify")
    void aReceiveCompletesWithTheBytesThatArrivedEvenIfItsBufferIsLarger() throws Exception {
        startBoth();
        KitProvider.Pair cPair = a.connectTo(b, listener, accepts, at);
        SocketHandle c = cPair.client();
        SocketHandle s = cPair.server();
        KitProvider.Receive r = b.recv(s, 4096, Overlapped.Mode.NOTIFY);
        a.send(c, "0123456789".getBytes(), Overlapped.Mode.POLL);
        OverlappedResult first = KitProvider.await(r.overlapped());
        assertTrue(first.isSuccess());
        assertTrue(first.bytesTransferred() > 0 && first.bytesTransferred() <= 10, "partial receive: " + first);
        byte[] rest = first.bytesTransferred() < 10 ? b.receiveExactly(s, 10 - (int) first.bytesTransferred(), 64) : new byte[0];
        byte[] all = new byte[10];
        System.arraycopy(r.bytes(first.bytesTransferred()), 0, all, 0, (int) first.bytesTransferred());
        System.arraycopy(rest, 0, all, (int) first.bytesTransferred(), rest.length);
        assertArrayEquals("0123456789".getBytes(), all);
        assertEquals(1, b.upcalls.settledCompletionsOf(r.overlapped()));
    }

    /**
     * docs/rules.md SK-close-teardown: this project's {@code closeSocket} ends the peer's stream in
     * order after the bytes of every send that completed before it; only the final cleanup resets.
     */
    @Test
    @Checks({"SK-close-teardown", "LC-c", "OV-close-aborts"})
    void closeSocketEndsTheStreamInOrderWhileTheFinalCleanupResetsIt() throws Exception {
        startBoth();
        KitProvider.Pair c1Pair = a.connectTo(b, listener, accepts, at);
        SocketHandle c1 = c1Pair.client();
        SocketHandle s1 = c1Pair.server();
        KitProvider.Pair c2Pair = a.connectTo(b, listener, accepts, at);
        SocketHandle s2 = c2Pair.server();
        KitProvider.Receive orderly = b.recv(s1, 16, Overlapped.Mode.POLL);
        KitProvider.Receive reset = b.recv(s2, 16, Overlapped.Mode.POLL);
        Overlapped ownPending = a.recv(c1, 16, Overlapped.Mode.NOTIFY).overlapped();
        byte[] last = "last".getBytes();
        a.assertCompletedOnce(a.send(c1, last, Overlapped.Mode.NOTIFY), null);

        a.engine.closeSocket(c1);
        a.assertCompletedOnce(ownPending, WsaError.WSA_OPERATION_ABORTED);
        // The bytes of the completed send arrive first, then the end of the stream, and it stays ended.
        OverlappedResult first = KitProvider.await(orderly.overlapped());
        assertTrue(first.isSuccess() && first.bytesTransferred() > 0, "the last bytes before closeSocket, got " + first);
        int got = (int) first.bytesTransferred();
        byte[] rest = b.receiveExactly(s1, last.length - got, 16);
        byte[] all = new byte[last.length];
        System.arraycopy(orderly.bytes(got), 0, all, 0, got);
        System.arraycopy(rest, 0, all, got, rest.length);
        assertArrayEquals(last, all);
        for (int i = 0; i < 2; i++) {
            OverlappedResult end = KitProvider.await(b.recv(s1, 16, Overlapped.Mode.POLL).overlapped());
            assertTrue(end.isSuccess() && end.bytesTransferred() == 0, "closeSocket: end of stream in order, got " + end);
        }

        WsaException closed = assertThrows(WsaException.class, () -> a.engine.closeSocket(c1));
        assertEquals(WsaError.WSAENOTSOCK, closed.error());

        a.engine.cleanup();
        assertEquals(WsaError.WSAECONNRESET, KitProvider.await(reset.overlapped()).error(), "abortive reset");
    }

    @Test
    @Checks({
            "ERR-never-inprogress", "ERR-accept", "ERR-bind", "ERR-closeSocket", "ERR-connect",
            "ERR-deregisterMemory", "ERR-eventSelect", "ERR-getOverlappedResult", "ERR-getSockOpt", "ERR-listen",
            "ERR-cacheCallback", "ERR-recv", "ERR-registerMemory", "ERR-send", "CN-again", "RG-flags"})
    void everyFailingCallUsesACodeOfItsSpecRow() throws Exception {
        startBoth();
        KitProvider.Pair cPair = a.connectTo(b, listener, accepts, at);
        SocketHandle c = cPair.client();
        SocketHandle s = cPair.server();
        SocketHandle fresh = a.socket();
        InetSocketAddress nobody = freeAddress();
        List<String> violations = new ArrayList<>();
        expect(violations, SpiCall.BIND, WsaError.WSAEADDRINUSE, () -> a.engine.bind(fresh, at));
        expect(violations, SpiCall.LISTEN, WsaError.WSAEINVAL, () -> a.engine.listen(a.socket(), 4));
        expect(violations, SpiCall.LISTEN, WsaError.WSAEISCONN, () -> a.engine.listen(c, 4));
        expect(violations, SpiCall.CONNECT, WsaError.WSAEISCONN, () -> a.engine.connect(c, at, null));
        expect(violations, SpiCall.ACCEPT, WsaError.WSAEWOULDBLOCK,
                () -> b.engine.accept(listener, (p, d, cb) -> ConditionDecision.CF_ACCEPT, 0));
        expect(violations, SpiCall.ACCEPT, WsaError.WSAEINVAL, () -> b.engine.accept(s, (p, d, cb) -> ConditionDecision.CF_ACCEPT, 0));
        expect(violations, SpiCall.RECV, WsaError.WSAENOTCONN, () -> a.recv(fresh, 8, Overlapped.Mode.POLL));
        expect(violations, SpiCall.SEND, WsaError.WSAEFAULT, () -> a.engine.send(c, null, 0, Overlapped.notifying(null)));
        expect(violations, SpiCall.SEND, WsaError.WSAEINVAL, () -> a.engine.send(c,
                new WsaBuf[] {WsaBuf.of(a.register(c, ByteBuffer.allocateDirect(8), Winsock.MEM_READ))}, 1, Overlapped.notifying(null)));
        expect(violations, SpiCall.REGISTER_MEMORY, WsaError.WSAEINVAL, () -> a.register(c, ByteBuffer.allocateDirect(8), 7));
        expect(violations, SpiCall.DEREGISTER_MEMORY, WsaError.WSAEINVAL, () -> a.engine.deregisterMemory(c, null));
        expect(violations, SpiCall.EVENT_SELECT, WsaError.WSAEINVAL, () -> a.engine.eventSelect(c, null, NetworkEvents.FD_CONNECT));
        expect(violations, SpiCall.GET_SOCK_OPT, WsaError.WSAEINVAL, () -> a.engine.getSockOpt(c, 12345, 1));
        expect(violations, SpiCall.GET_OVERLAPPED_RESULT, WsaError.WSA_IO_INCOMPLETE,
                () -> a.engine.getOverlappedResult(c, a.recv(c, 8, Overlapped.Mode.POLL).overlapped(), false));
        expect(violations, SpiCall.MEMORY_REGISTRATION_CACHE_CALLBACK, WsaError.WSAEOPNOTSUPP,
                () -> a.engine.memoryRegistrationCacheCallback(ByteBuffer.allocateDirect(8)));
        // Connect where nobody listens: docs/rules.md SW-certain allows only codes that stop or allow the fallback.
        WsaError nobodyStatus = a.connect(a.socket(), nobody);
        assertTrue(nobodyStatus == WsaError.WSAECONNRESET || nobodyStatus == WsaError.WSAECONNREFUSED
                || nobodyStatus == WsaError.WSAETIMEDOUT || nobodyStatus == WsaError.WSAEHOSTUNREACH,
                "connect to a port nobody listens on: " + nobodyStatus);
        a.engine.closeSocket(c);
        expect(violations, SpiCall.CLOSE_SOCKET, WsaError.WSAENOTSOCK, () -> a.engine.closeSocket(c));
        expect(violations, SpiCall.SEND, WsaError.WSAENOTSOCK, () -> a.send(c, new byte[1], Overlapped.Mode.POLL));
        assertTrue(violations.isEmpty(), String.join("\n", violations));
    }

    private static void expect(List<String> violations, SpiCall call, WsaError expected, Executable action) {
        try {
            action.execute();
            violations.add(call + ": expected " + expected + " but the call succeeded");
        } catch (WsaException e) {
            if (!call.allows(e.error())) {
                violations.add(call + " failed with " + e.error() + ", outside its list");
            } else if (e.error() != expected) {
                violations.add(call + ": expected " + expected + ", got " + e.error());
            }
        } catch (Throwable t) {
            violations.add(call + " threw " + t);
        }
    }
}
