package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * closeSocket with sends still in flight (docs/rules.md SK-close-teardown, OV-close-aborts): the
 * close aborts them, and the closing notice must not count their messages, or the peer waits for
 * messages that never come and never sees the end of the stream.
 */
class UcxCloseWithSendsInFlightTest extends KitTestBase {
    /** Above the 64 KiB RDMA threshold: each goes by UCX rendezvous and waits for the peer to take it. */
    private static final int LARGE = 1 << 20;
    private static final int SENDS_IN_FLIGHT = 4;

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    private static final byte[] FIRST = "the last completed send".getBytes();

    /** Both providers up, a connection from a to b, and one small send of {@link #FIRST} completed on it. */
    private KitProvider.Pair connectedWithOneSendDone() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 4, accepts);
        KitProvider.Pair p = a.connectTo(b, listener, accepts, at);
        a.assertCompletedOnce(a.send(p.client(), FIRST, Overlapped.Mode.NOTIFY), null);
        return p;
    }

    @Test
    @Checks("SK-close-teardown")
    void thePeerGetsTheCompletedSendThenTheEndOfTheStreamWhenTheCloseAbortedLargeSends() throws Exception {
        KitProvider.Pair p = connectedWithOneSendDone();
        // The peer posts no receive: the large sends stay in flight until the close aborts them.
        List<Overlapped> inFlight = new ArrayList<>();
        for (int i = 0; i < SENDS_IN_FLIGHT; i++) {
            inFlight.add(a.send(p.client(), new byte[LARGE], Overlapped.Mode.NOTIFY));
        }
        for (Overlapped ov : inFlight) {
            assertTrue(!ov.isDone(), "a large send completed before the peer took it: " + ov);
        }

        a.engine.closeSocket(p.client());
        for (Overlapped ov : inFlight) {
            a.assertCompletedOnce(ov, WsaError.WSA_OPERATION_ABORTED);
        }

        byte[] got = b.receiveExactly(p.server(), FIRST.length, 64);
        assertArrayEquals(FIRST, got, "the completed send's bytes first");
        // Then the end of the stream, and it stays ended (each await is bounded: KitProvider.await).
        for (int i = 0; i < 3; i++) {
            OverlappedResult end = KitProvider.await(b.recv(p.server(), LARGE, Overlapped.Mode.POLL).overlapped());
            assertTrue(end.isSuccess() && end.bytesTransferred() == 0, "receive " + i + " after the close: " + end);
        }
    }

    /**
     * The peer took the first aborted message (its rendezvous header had arrived) before it read
     * the closing notice: that receive never gets its data, and once the notice says the stream
     * ended before it, it completes as the end of the stream.
     */
    @Test
    @Checks("SK-close-teardown")
    void aMessageOfAnAbortedSendTakenBeforeTheClosingNoticeEndsAsTheEndOfTheStream() throws Exception {
        KitProvider.Pair p = connectedWithOneSendDone();
        assertArrayEquals(FIRST, b.receiveExactly(p.server(), FIRST.length, 64), "the completed send's bytes first");
        List<Overlapped> inFlight = new ArrayList<>();
        for (int i = 0; i < SENDS_IN_FLIGHT; i++) {
            inFlight.add(a.send(p.client(), new byte[LARGE], Overlapped.Mode.NOTIFY));
        }
        UcxTransport peer = (UcxTransport) b.transport;
        Eventually.until("the first large message's rendezvous header is at the peer", () -> {
            try {
                return peer.workerThread().call(() -> peer.worker().tagProbeNonBlocking(0, 0, false) != null);
            } catch (WsaException e) {
                throw new IllegalStateException(e);
            }
        });

        // The peer's rendezvous thread, which reads the closing notice, is held meanwhile.
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        peer.rendezvous().execute(() -> {
            held.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        KitProvider.Receive taken;
        try {
            assertTrue(held.await(30, TimeUnit.SECONDS), "the peer's rendezvous thread was not held");
            a.engine.closeSocket(p.client());
            for (Overlapped ov : inFlight) {
                a.assertCompletedOnce(ov, WsaError.WSA_OPERATION_ABORTED);
            }
            int before = UcxNative.pendingRequests();
            taken = b.recv(p.server(), LARGE, Overlapped.Mode.POLL);
            Eventually.until("the peer took the first aborted message into its receive",
                    () -> UcxNative.pendingRequests() > before);
        } finally {
            release.countDown();
        }

        OverlappedResult end = KitProvider.await(taken.overlapped());
        assertTrue(end.isSuccess() && end.bytesTransferred() == 0, "the receive that took it: " + end);
        for (int i = 0; i < 2; i++) {
            OverlappedResult later = KitProvider.await(b.recv(p.server(), LARGE, Overlapped.Mode.POLL).overlapped());
            assertTrue(later.isSuccess() && later.bytesTransferred() == 0, "receive " + i + " after it: " + later);
        }
    }
}
