package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.AcceptedSocket;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.NetworkEventRecord;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;

/**
 * Network events over real connections of the backend under test: a full backlog, the
 * {@code eventSelect} association, and silence after {@code closeSocket}. "Nothing happened"
 * is always read after a positive signal that the backend's threads passed the moment in
 * question: a later event, triggered afterwards, on another socket of the same provider.
 */
public abstract class EventConformance extends KitTestBase {

    private static final long WAIT = KitProvider.WAIT_SECONDS;

    /** A listener of {@code p} on a port of its own with FD_ACCEPT on a fresh event: the "later event" of a check. */
    private record Witness(SocketHandle listener, KitSwitch.Event event, InetSocketAddress at) {
        /** Makes a request to it from {@code from} and waits for its FD_ACCEPT. */
        void ping(KitProvider from) throws Exception {
            from.startConnect(from.socket(), at, new KitSwitch.Event());
            assertTrue(event.await(WAIT, TimeUnit.SECONDS), "FD_ACCEPT of the witness listener");
        }
    }

    private Witness witness(KitProvider p) throws WsaException {
        KitSwitch.Event e = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        return new Witness(p.listen(at, 8, e), e, at);
    }

    @Test
    @Checks("EV-backlog")
    void aRequestBeyondAFullBacklogIsRefusedAtOnceAndRaisesNoFdAccept() throws Exception {
        a.startup();
        b.startup();
        int backlog = 2;
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, backlog, accepts);
        Witness later = witness(b);
        List<SocketHandle> queued = new ArrayList<>();
        for (int i = 0; i < backlog; i++) {
            SocketHandle c = a.socket();
            a.startConnect(c, at, new KitSwitch.Event());
            assertTrue(accepts.await(WAIT, TimeUnit.SECONDS), "FD_ACCEPT for queued request " + i);
            queued.add(c);
        }
        assertTrue(b.engine.enumNetworkEvents(listener, accepts).has(NetworkEvents.FD_ACCEPT));

        SocketHandle beyond = a.socket();
        KitSwitch.Event beyondConnect = new KitSwitch.Event();
        a.startConnect(beyond, at, beyondConnect);
        assertTrue(beyondConnect.await(WAIT, TimeUnit.SECONDS), "the request beyond the backlog is answered, not left hanging");
        WsaError status = a.engine.enumNetworkEvents(beyond, beyondConnect).errorFor(NetworkEvents.FD_CONNECT_BIT);
        if (backend().refusalFailsConnect() || status != null) {
            assertEquals(WsaError.WSAECONNREFUSED, status, "FD_CONNECT of the request beyond the backlog");
        } else {
            // The kernel completed the handshake before the backend saw the request: refused by a reset.
            OverlappedResult first = KitProvider.await(a.recv(beyond, 8, Overlapped.Mode.POLL).overlapped());
            assertEquals(WsaError.WSAECONNRESET, first.error(), "first receive of the request beyond the backlog");
        }

        later.ping(a);
        assertTrue(accepts.signals.isEmpty(), "FD_ACCEPT signalled for the refused request");
        assertFalse(b.engine.enumNetworkEvents(listener, accepts).has(NetworkEvents.FD_ACCEPT),
                "FD_ACCEPT recorded for the refused request");
        // The backlog held exactly the requests before it.
        for (int i = 0; i < backlog; i++) {
            b.engine.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0);
        }
    }

    @Test
    @Checks({"EV-select", "ERR-eventSelect"})
    void eventSelectRecordsOnlyAcceptAndConnectAndReselectingClearsTheRecordAndMaskZeroDetaches() throws Exception {
        a.startup();
        b.startup();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.socket();
        b.engine.bind(listener, at);
        b.engine.listen(listener, 8);
        KitSwitch.Event first = new KitSwitch.Event();
        // Bits other than FD_ACCEPT and FD_CONNECT are accepted (docs/rules.md Q15) ...
        b.engine.eventSelect(listener, first, NetworkEvents.FD_ALL_EVENTS);
        WsaException beyond = assertThrows(WsaException.class,
                () -> b.engine.eventSelect(listener, first, NetworkEvents.FD_ALL_EVENTS | (1 << NetworkEvents.FD_MAX_EVENTS)));
        assertEquals(WsaError.WSAEINVAL, beyond.error(), "a bit beyond the ten FD_* bits");
        WsaException noEvent = assertThrows(WsaException.class,
                () -> b.engine.eventSelect(listener, null, NetworkEvents.FD_ACCEPT));
        assertEquals(WsaError.WSAEINVAL, noEvent.error(), "a mask without an event object");

        SocketHandle c = a.socket();
        KitSwitch.Event connectEvent = new KitSwitch.Event();
        a.engine.eventSelect(c, connectEvent, NetworkEvents.FD_ALL_EVENTS);
        a.engine.connect(c, at, null);
        assertTrue(first.await(WAIT, TimeUnit.SECONDS), "FD_ACCEPT");
        // ... the failed selections above changed nothing; reselecting without FD_ACCEPT clears the record.
        KitSwitch.Event second = new KitSwitch.Event();
        b.engine.eventSelect(listener, second, NetworkEvents.FD_CONNECT | NetworkEvents.FD_READ);
        assertEquals(0, b.engine.enumNetworkEvents(listener, second).networkEvents(), "the record after reselecting");
        // Reselecting FD_ACCEPT reports the request still queued on the new event, not the old one.
        KitSwitch.Event third = new KitSwitch.Event();
        b.engine.eventSelect(listener, third, NetworkEvents.FD_ACCEPT);
        assertTrue(third.await(WAIT, TimeUnit.SECONDS), "the queued request reported on the new event");
        assertEquals(NetworkEvents.FD_ACCEPT, b.engine.enumNetworkEvents(listener, third).networkEvents());
        AcceptedSocket s = b.engine.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0);

        assertTrue(connectEvent.await(WAIT, TimeUnit.SECONDS), "FD_CONNECT");
        // Data both ways and a received message: only FD_CONNECT is ever recorded on the client.
        b.send(s.socket(), new byte[] {1, 2, 3}, Overlapped.Mode.POLL);
        a.receiveExactly(c, 3, 8);
        KitProvider.await(a.send(c, new byte[] {4}, Overlapped.Mode.POLL));
        NetworkEventRecord r = a.engine.enumNetworkEvents(c, connectEvent);
        assertEquals(NetworkEvents.FD_CONNECT, r.networkEvents(), "only FD_CONNECT recorded: " + r);
        assertNull(r.errorFor(NetworkEvents.FD_CONNECT_BIT));

        // Mask 0 detaches the event: a later request is recorded nowhere and signals nothing.
        b.engine.eventSelect(listener, third, 0);
        a.startConnect(a.socket(), at, new KitSwitch.Event());
        AcceptedSocket unannounced = acceptPolling(b, listener);
        assertTrue(unannounced.socket() != null);
        assertTrue(first.signals.isEmpty() && second.signals.isEmpty() && third.signals.isEmpty(),
                "an event signalled after mask 0");
        assertEquals(0, b.engine.enumNetworkEvents(listener, null).networkEvents(), "the record after mask 0");
    }

    /** Accepts without an event to wait on: the accept itself is the signal that the request arrived. */
    private static AcceptedSocket acceptPolling(KitProvider p, SocketHandle listener) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
        while (true) {
            try {
                return p.engine.accept(listener, (peer, data, cb) -> ConditionDecision.CF_ACCEPT, 0);
            } catch (WsaException e) {
                if (e.error() != WsaError.WSAEWOULDBLOCK || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            Thread.sleep(1);
        }
    }

    @Test
    @Checks("SK-no-events-after-close")
    void noNetworkEventIsSignalledForASocketAfterCloseSocketReturned() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = a.listen(at, 1000, accepts);
        Witness later = witness(a);
        // Requests keep arriving while the listener is closed, so events are on their way.
        AtomicBoolean stop = new AtomicBoolean();
        Thread hammer = new Thread(() -> {
            try {
                for (int i = 0; i < 500 && !stop.get(); i++) {
                    b.startConnect(b.socket(), at, new KitSwitch.Event());
                }
            } catch (WsaException | RuntimeException e) {
                // the provider may refuse sockets late in the test; the check needs only the events before
            }
        }, "kit-request-hammer");
        hammer.start();
        try {
            for (int i = 0; i < 3; i++) {
                assertTrue(accepts.await(WAIT, TimeUnit.SECONDS), "FD_ACCEPT while requests arrive");
            }
            a.engine.closeSocket(listener);
            long closed = KitSwitch.SEQUENCE.incrementAndGet();
            // Connects to the connecting sockets of a closed listener are answered; a's backend has
            // passed every request of the closed listener once a later one on another listener is reported.
            later.ping(b);
            assertTrue(accepts.signals.stream().allMatch(seq -> seq < closed),
                    "FD_ACCEPT signalled after closeSocket returned: " + accepts.signals + " > " + closed);
        } finally {
            stop.set(true);
            hammer.join();
        }
        WsaException gone = assertThrows(WsaException.class, () -> a.engine.enumNetworkEvents(listener, null));
        assertEquals(WsaError.WSAENOTSOCK, gone.error());
    }
}
