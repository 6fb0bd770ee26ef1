package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * RDMA writes and reads still pending when the final cleanup begins (docs/rules.md LC-b-rdma):
 * aborted once each, in their own mode, with {@code WSA_OPERATION_ABORTED}, and the memory they
 * held unmapped from UCX before the abort can be observed (LC-b-memory). The worker thread of the
 * posting side is held while they are posted, so they are certainly pending when the cleanup
 * claims them; it is let go once the cleanup waits on it.
 */
class UcxPendingRdmaAtCleanupTest extends KitTestBase {
    private static final long WAIT_SECONDS = 20;

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    @Test
    @Checks({"LC-b-rdma", "LC-b-memory", "OV-poll", "OV-notify"})
    void pendingRdmaWritesAndReadsAreAbortedOnceAndTheirMemoryUnmappedFirst() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 4, accepts);
        KitProvider.Pair p = a.connectTo(b, listener, accepts, at);
        int size = 1 << 20;
        RdmaBufferDescriptor exposed = b.engine.registerRdmaMemory(p.server(), ByteBuffer.allocateDirect(size),
                Winsock.MEM_READWRITE);
        MemoryHandle source = a.register(p.client(), ByteBuffer.allocateDirect(size), Winsock.MEM_READ);
        MemoryHandle sink = a.register(p.client(), ByteBuffer.allocateDirect(size), Winsock.MEM_WRITE);
        UcxTransport ucx = (UcxTransport) a.transport;
        assertEquals(2, ucx.registeredRegions(), "a's two local registrations are mapped in UCX");

        CountDownLatch letGo = new CountDownLatch(1);
        CountDownLatch held = new CountDownLatch(1);
        ucx.workerThread().later(() -> {
            held.countDown();
            awaitQuietly(letGo);
        });
        Overlapped write = Overlapped.notifying(null);
        Overlapped read = Overlapped.polling(null);
        Thread cleaner = null;
        try {
            assertTrue(held.await(WAIT_SECONDS, TimeUnit.SECONDS), "the worker thread took the holding task");
            a.engine.rdmaWrite(p.client(), new WsaBuf[] {WsaBuf.of(source)}, exposed, 0, 0, write);
            a.engine.rdmaRead(p.client(), new WsaBuf[] {WsaBuf.of(sink)}, exposed, 0, 0, read);
            assertTrue(write.isInProgress() && read.isInProgress(), "both posted and pending");

            cleaner = new Thread(() -> {
                try {
                    a.engine.cleanup();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "final-cleanup");
            cleaner.start();
            // Positive signal that the cleanup claimed them: it waits on the held UCX worker.
            assertTrue(waitsInsideUcx(cleaner), "the final cleanup reached the UCX backend");
            assertTrue(write.isInProgress() && read.isInProgress(), "nothing completed while the worker was held");
        } finally {
            letGo.countDown();
        }
        // Watched while the cleanup runs, not after it: each outcome is observed only after its memory left UCX: the write's source first
        // (the read's sink may still be mapped), then the read's sink too.
        assertEquals(WsaError.WSA_OPERATION_ABORTED, KitProvider.await(write).error(), "the pending RDMA write");
        assertTrue(ucx.registeredRegions() <= 1, "the write's source unmapped before its abort was seen: "
                + ucx.registeredRegions() + " regions mapped");
        assertEquals(WsaError.WSA_OPERATION_ABORTED, KitProvider.await(read).error(), "the pending RDMA read");
        assertEquals(0, ucx.registeredRegions(), "both unmapped before the aborts were seen");
        cleaner.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        assertTrue(!cleaner.isAlive(), "the final cleanup returned");
        a.assertCompletedOnce(write, WsaError.WSA_OPERATION_ABORTED);
        a.assertCompletedOnce(read, WsaError.WSA_OPERATION_ABORTED);
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
