package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;

/**
 * Several messages are received at once straight into posted receives (so one rendezvous
 * handshake overlaps the previous transfer), yet receives complete in the order they were posted
 * and the stream stays byte-exact, also when a message does not fit its receive and goes through
 * the staging buffer.
 */
class UcxReceiveOrderTest extends KitTestBase {
    private static final int MIB = 1 << 20;

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    @Test
    @io.sanswitch.testing.Checks("OV-order")
    void aSmallMessageBehindALargeOneCompletesAfterIt() throws Exception {
        KitProvider.Pair p = connect();
        // Posted first: 64 MiB, a rendezvous transfer of some milliseconds; then 8 bytes, which
        // arrive eagerly and complete inside UCX long before the large one.
        KitProvider.Receive large = b.recv(p.server(), 64 * MIB, Overlapped.Mode.POLL);
        KitProvider.Receive small = b.recv(p.server(), 8, Overlapped.Mode.POLL);
        byte[] big = random(64 * MIB, 1);
        byte[] tiny = random(8, 2);
        Overlapped s1 = a.send(p.client(), big, Overlapped.Mode.POLL);
        Overlapped s2 = a.send(p.client(), tiny, Overlapped.Mode.POLL);
        // Watched closely (not through a wake-up, which could come after the large one is done too).
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!small.overlapped().isDone() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(small.overlapped().isDone(), "the small receive never completed");
        assertTrue(large.overlapped().isDone(), "the receive posted second completed before the first");
        OverlappedResult second = KitProvider.await(small.overlapped());
        OverlappedResult first = KitProvider.await(large.overlapped());
        assertArrayEquals(big, large.bytes(first.bytesTransferred()));
        assertArrayEquals(tiny, small.bytes(second.bytesTransferred()));
        assertTrue(KitProvider.await(s1).isSuccess() && KitProvider.await(s2).isSuccess());
    }

    @Test
    @io.sanswitch.testing.Checks("OV-order")
    void manyReceivesInFlightKeepTheStreamInOrderWithMessagesLargerThanTheirReceive() throws Exception {
        KitProvider.Pair p = connect();
        Random sizes = new Random(5);
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        List<Overlapped> sends = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            // 1 B .. 192 KiB against receives of 64 KiB: some eager, most by rendezvous, some staged.
            byte[] m = random(1 + sizes.nextInt(192 * 1024), i);
            sent.write(m);
            sends.add(a.send(p.client(), m, Overlapped.Mode.NOTIFY));
        }
        byte[] expected = sent.toByteArray();
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        List<KitProvider.Receive> window = new ArrayList<>();
        while (received.size() < expected.length) {
            while (window.size() < 16) {
                window.add(b.recv(p.server(), 64 * 1024, Overlapped.Mode.NOTIFY));
            }
            KitProvider.Receive head = window.remove(0);
            OverlappedResult r = KitProvider.await(head.overlapped());
            assertTrue(r.isSuccess() && r.bytesTransferred() > 0, r.toString());
            received.write(head.bytes(r.bytesTransferred()));
        }
        assertArrayEquals(expected, received.toByteArray(), "the stream, in order");
        for (Overlapped s : sends) {
            assertTrue(KitProvider.await(s).isSuccess());
        }
    }

    private KitProvider.Pair connect() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        return a.connectTo(b, b.listen(at, 4, accepts), accepts, at);
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
