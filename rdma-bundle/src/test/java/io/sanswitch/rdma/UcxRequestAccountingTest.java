package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;

/**
 * Every completion the transport registers with {@link UcxNative} (a request UCX holds, an
 * endpoint's error handler) is released once: by its callback, by the close of its endpoint, or at
 * the latest when its worker is destroyed. The count is the JVM's: a registration left behind would
 * show up in every later test's count (UcxCycleLeakTest's, for one).
 */
@Timeout(600)
class UcxRequestAccountingTest extends KitTestBase {
    private static final int ROUNDS = Integer.getInteger("sanswitch.ucx.accountingRounds", 10);
    private static final long SETTLE_SECONDS = 10;

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    /**
     * A connect whose handshake ends while its socket is being closed: the close's shut-down reaches
     * the worker first (no endpoint yet: nothing to close), then the handshake's outcome opens the
     * endpoint before the socket is marked ended. That endpoint used to stay open, its error
     * handler registered, until the worker was destroyed. The worker thread is held so that both
     * reach it in that order.
     */
    @Test
    void aConnectAcceptedWhileItsSocketClosesLeavesNoEndpointRegistered() throws Exception {
        a.startup();
        b.startup();
        InetSocketAddress at = freeAddress();
        KitSwitch.Event accepts = new KitSwitch.Event();
        SocketHandle listener = b.listen(at, 8, accepts);
        UcxWorkerThread worker = ((UcxTransport) a.transport).workerThread();
        int leaked = 0;
        for (int round = 0; round < ROUNDS; round++) {
            long before = UcxNative.pendingRequests();
            SocketHandle c = a.socket();
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch letGo = new CountDownLatch(1);
            worker.later(() -> {
                held.countDown();
                awaitQuietly(letGo);
            });
            Thread closer = null;
            SocketHandle server = null;
            try {
                assertTrue(held.await(20, TimeUnit.SECONDS), "the worker thread took the holding task");
                a.startConnect(c, at, new KitSwitch.Event());
                closer = new Thread(() -> {
                    try {
                        a.engine.closeSocket(c);
                    } catch (WsaException e) {
                        throw new IllegalStateException(e);
                    }
                }, "accounting-closer");
                closer.start();
                awaitQueued(worker, 1, "the close's shut-down");
                server = b.accept(listener, accepts, io.sanswitch.spi.ConditionDecision.CF_ACCEPT).socket();
                awaitQueued(worker, 2, "the handshake's outcome");
            } finally {
                letGo.countDown();
            }
            closer.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(closer.isAlive(), "closesocket returned");
            b.engine.closeSocket(server); // its endpoint is registered while it is open
            if (!settled(before, round)) {
                leaked++;
                System.out.println("[accounting] sockets of a: " + ((UcxTransport) a.transport).describeSockets()
                        + "; of b: " + ((UcxTransport) b.transport).describeSockets());
            }
        }
        System.out.println("[accounting] connect accepted while closing: " + leaked + " of " + ROUNDS
                + " rounds left an endpoint registered");
        assertEquals(0, leaked, "rounds that left an endpoint registered");
    }

    /**
     * A worker destroyed while it holds a pending send of several buffers and an endpoint that was
     * never closed: UCX calls the send back (cancelled) or frees it without a word, and never calls
     * the endpoint's error handler. Once the worker's thread reports the worker gone, neither is
     * registered any more and the native memory of the send's buffer list is freed (docs/toolchain.md
     * TC-21).
     */
    @Test
    @Checks({"LC-d"})
    void requestsAWorkerHeldWhenItWasDestroyedAreReleased() throws Exception {
        long before = UcxNative.pendingRequests();
        long sendsBefore = UcxNative.liveMultiBufferSends();
        List<Integer> done = new ArrayList<>();
        int[] dropped = {0};
        // A thread of its own, as a worker's thread: what it registered is its worker's only.
        Throwable failed = onOwnThread(() -> {
            UcxWorkerPair pair = UcxWorkerPair.open();
            ByteBuffer data = ByteBuffer.allocateDirect(4 << 20);
            long address = org.openucx.jucx.UcxUtils.getAddress(data);
            long request = UcxNative.startTagSend(pair.endpoint, new long[] {address, address + (2 << 20)},
                    new long[] {2 << 20, 2 << 20}, UcxWorkerPair.TAG, (status, ignored) -> done.add(status));
            assertTrue(request > 0, "the send is pending (status " + request + ")");
            assertEquals(sendsBefore + 1, UcxNative.liveMultiBufferSends(), "its buffer list is held for UCX");
            assertEquals(before + 2, UcxNative.pendingRequests(), "the send and the endpoint's error handler registered");
            pair.sender.close(); // with the endpoint and its request
            pair.receiver.close();
            pair.context.close();
            dropped[0] = UcxNative.workerDestroyed();
        });
        assertNull(failed, () -> "on the worker's thread: " + failed);
        System.out.println("[accounting] worker destroyed: " + dropped[0] + " dropped, called back: " + done);
        assertEquals(before, UcxNative.pendingRequests(), "registered after the worker is gone");
        assertEquals(sendsBefore, UcxNative.liveMultiBufferSends(), "buffer lists held after the worker is gone");
    }

    /**
     * What a run's worker still has registered when its final cleanup destroys it is released with
     * it: here an endpoint opened on the worker's thread and never closed (as a socket racing its end
     * used to leave one), whose error handler UCX never calls. (Not a pending send on it: UCX 1.13
     * asserts, and aborts the process, when a worker is destroyed with an open endpoint that still
     * tracks a request.)
     */
    @Test
    @Checks({"LC-d"})
    void whatAWorkerStillHasRegisteredAtTheFinalCleanupIsReleasedWithIt() throws Exception {
        a.startup();
        b.startup();
        UcxTransport ta = (UcxTransport) a.transport;
        UcxTransport tb = (UcxTransport) b.transport;
        long before = UcxNative.pendingRequests();
        ta.workerThread().call(() -> UcxNative.openEndpoint(ta.workerHandle(), tb.workerAddress(), (status, ignored) -> {
        }));
        assertEquals(before + 1, UcxNative.pendingRequests(), "the endpoint's error handler registered");
        a.engine.cleanup();
        assertTrue(settled(before, 0), "registered after a's final cleanup: " + UcxNative.pendingRequests());
    }

    private interface Body {
        void run() throws Exception;
    }

    private static Throwable onOwnThread(Body body) throws InterruptedException {
        Throwable[] failed = {null};
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failed[0] = e;
            }
        }, "accounting-worker");
        t.start();
        t.join(TimeUnit.SECONDS.toMillis(60));
        assertFalse(t.isAlive(), "the worker's thread ended");
        return failed[0];
    }

    private static void awaitQueued(UcxWorkerThread worker, int tasks, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (worker.queuedTasks() < tasks) {
            assertTrue(System.nanoTime() - deadline < 0, what + " reached the held worker thread");
            Thread.sleep(1);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the count came back to {@code before} (bounded wait: the cleanups destroyed the workers). */
    private static boolean settled(long before, int round) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SETTLE_SECONDS);
        while (UcxNative.pendingRequests() > before) {
            if (System.nanoTime() - deadline > 0) {
                System.out.println("[accounting] round " + round + ": " + before + " -> " + UcxNative.pendingRequests());
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
