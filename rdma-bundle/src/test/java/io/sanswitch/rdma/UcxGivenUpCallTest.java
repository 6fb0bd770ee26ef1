package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import io.sanswitch.conformance.BackendUnderTest;
import io.sanswitch.conformance.KitTestBase;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;

/**
 * A call to the UCX progress thread whose caller stops waiting (docs/rules.md RG-given-up): what
 * the task makes has one owner, the caller or the undo, never both and never neither. The progress
 * thread is held by a task of the test, so the wait runs out.
 */
class UcxGivenUpCallTest extends KitTestBase {
    private static final Duration SHORT = Duration.ofMillis(50);
    /** Ample for an idle progress thread to start a task (it then runs until the caller gave up). */
    private static final Duration STARTS_WITHIN = Duration.ofSeconds(2);

    @Override
    protected BackendUnderTest backend() {
        return UcxBackend.INSTANCE;
    }

    @Test
    @Checks("RG-given-up")
    void aTaskWhoseCallerGaveUpBeforeItStartedDoesNotRun() throws Exception {
        a.startup();
        UcxWorkerThread worker = ((UcxTransport) a.transport).workerThread();
        CountDownLatch letGo = hold(worker);
        AtomicBoolean ran = new AtomicBoolean();
        List<String> undone = new CopyOnWriteArrayList<>();
        try {
            WsaException e = assertThrows(WsaException.class, () -> worker.callOrUndo(() -> {
                ran.set(true);
                return "made";
            }, SHORT, undone::add));
            assertEquals(WsaError.WSAENETDOWN, e.error());
        } finally {
            letGo.countDown();
        }
        worker.call(() -> null); // tasks run in order: the given-up one had its turn
        assertTrue(!ran.get(), "the task ran after its caller gave up");
        assertEquals(List.of(), undone);
    }

    @Test
    @Checks("RG-given-up")
    void whatATaskMadeAfterItsCallerGaveUpIsUndoneOnce() throws Exception {
        a.startup();
        UcxWorkerThread worker = ((UcxTransport) a.transport).workerThread();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        List<String> undone = new CopyOnWriteArrayList<>();
        try {
            assertThrows(WsaException.class, () -> worker.callOrUndo(() -> {
                started.countDown();
                letGo.await(30, TimeUnit.SECONDS);
                return "made";
            }, STARTS_WITHIN, undone::add));
            assertTrue(started.await(30, TimeUnit.SECONDS), "the task started");
        } finally {
            letGo.countDown();
        }
        worker.call(() -> null);
        assertEquals(List.of("made"), undone, "what the running task made once its caller gave up");
    }

    @Test
    @Checks("RG-given-up")
    void aResultTheCallerGotIsNeverUndone() throws Exception {
        a.startup();
        UcxWorkerThread worker = ((UcxTransport) a.transport).workerThread();
        List<String> undone = new CopyOnWriteArrayList<>();
        assertEquals("made", worker.callOrUndo(() -> "made", Duration.ofSeconds(10), undone::add));
        worker.call(() -> null);
        assertEquals(List.of(), undone);
    }

    /** Holds the progress thread in a task until the returned latch is counted down. */
    static CountDownLatch hold(UcxWorkerThread worker) throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        worker.later(() -> {
            held.countDown();
            try {
                letGo.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(held.await(30, TimeUnit.SECONDS), "the progress thread took the holding task");
        return letGo;
    }
}
