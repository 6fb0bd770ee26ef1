package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.testing.Checks;

/**
 * An RDMA write or read still pending when the final cleanup begins (docs/rules.md LC-b-rdma):
 * aborted once, in its own mode, with {@code WSA_OPERATION_ABORTED}, and the memory it held
 * unmapped from UCX before the abort can be observed (LC-b-memory). The worker thread of the
 * posting side is held while the operation is posted, so it is certainly pending when the
 * cleanup claims it; it is let go once the cleanup waits on it. One operation per cleanup: the
 * engine claims and cancels operations one at a time, so a second one could finish in UCX while
 * the first is cancelled.
 */
class UcxPendingRdmaAtCleanupTest extends KitTestBase {
    private static final long WAIT_SECONDS = 20;
    private static final int SIZE = 1 << 20;

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    @Test
    @Checks({"LC-b-rdma", "LC-b-memory", "OV-notify"})
    void aPendingRdmaWriteIsAbortedOnceThroughItsUpcallAndItsSourceUnmappedFirst() throws Exception {
        pendingAtTheFinalCleanup(true, Overlapped.notifying(null));
    }

    @Test
    @Checks({"LC-b-rdma", "LC-b-memory", "OV-poll"})
    void aPendingRdmaReadIsAbortedOnceWithoutUpcallAndItsSinkUnmappedFirst() throws Exception {
        pendingAtTheFinalCleanup(false, Overlapped.polling(null));
    }

    private void pendingAtTheFinalCleanup(boolean write, Overlapped op) throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 4, accepts);
        KitProvider.Pair p = a.connectTo(b, listener, accepts, at);
        RdmaBufferDescriptor exposed = b.engine.registerRdmaMemory(p.server(), ByteBuffer.allocateDirect(SIZE),
                Winsock.MEM_READWRITE);
        MemoryHandle local = a.register(p.client(), ByteBuffer.allocateDirect(SIZE), write ? Winsock.MEM_READ : Winsock.MEM_WRITE);
        UcxTransport ucx = (UcxTransport) a.transport;
        assertEquals(1, ucx.registeredRegions(), "a's local registration is mapped in UCX");

        CountDownLatch letGo = new CountDownLatch(1);
        CountDownLatch held = new CountDownLatch(1);
        ucx.workerThread().later(() -> {
            held.countDown();
            awaitQuietly(letGo);
        });
        Thread cleaner = new Thread(() -> {
            try {
                a.engine.cleanup();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "final-cleanup");
        try {
            assertTrue(held.await(WAIT_SECONDS, TimeUnit.SECONDS), "the worker thread took the holding task");
            WsaBuf[] bufs = {WsaBuf.of(local)};
            if (write) {
                a.engine.rdmaWrite(p.client(), bufs, exposed, 0, 0, op);
            } else {
                a.engine.rdmaRead(p.client(), bufs, exposed, 0, 0, op);
            }
            assertTrue(op.isInProgress(), "posted and pending");
            cleaner.start();
            // Positive signal that the cleanup claimed it: it waits on the held UCX worker.
            assertTrue(waitsInsideUcx(cleaner), "the final cleanup reached the UCX backend");
            assertTrue(op.isInProgress(), "nothing completed while the worker was held");
        } finally {
            letGo.countDown();
        }
        // Watched while the cleanup runs, not after it: the outcome is observed only after the
        // memory left UCX.
        assertEquals(WsaError.WSA_OPERATION_ABORTED, KitProvider.await(op).error(), "the pending RDMA operation");
        assertEquals(0, ucx.registeredRegions(), "its memory unmapped before its abort was seen");
        cleaner.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        assertFalse(cleaner.isAlive(), "the final cleanup returned");
        a.assertCompletedOnce(op, WsaError.WSA_OPERATION_ABORTED);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether {@code t} comes to wait in a frame of the UCX backend (bounded). */
    private static boolean waitsInsideUcx(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (System.nanoTime() < deadline) {
            Thread.State s = t.getState();
            if ((s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) && Arrays.stream(t.getStackTrace())
                    .anyMatch(f -> f.getClassName().startsWith(UcxTransport.class.getPackageName() + "."))) {
                return true;
            }
            Thread.sleep(1);
        }
        return false;
    }
}
