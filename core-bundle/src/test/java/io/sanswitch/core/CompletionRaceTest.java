package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * docs/rules.md LC-b and LC-race: one atomic state per operation decides who completes it; calls racing
 * the final cleanup are refused or aborted, never lost, never completed twice.
 */
@Timeout(300)
class CompletionRaceTest extends EngineTestSupport {

    @Test
    @Checks({"LC-b-once", "LC-b-memory", "OV-notify", "OV-poll"})
    void everyOperationCompletesExactlyOnceOver100000RacesBetweenBackendCompletionAndCleanup() throws Exception {
        int cycles = 2_000;
        int opsPerCycle = 50;
        CyclicBarrier go = new CyclicBarrier(2);
        CyclicBarrier finished = new CyclicBarrier(2);
        AtomicReference<ScriptedTransport.ScriptedSocket> current = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> completerFailure = new AtomicReference<>();
        Thread completer = new Thread(() -> {
            try {
                while (true) {
                    go.await(30, TimeUnit.SECONDS);
                    if (stop.get()) {
                        return;
                    }
                    ScriptedTransport.ScriptedSocket backend = current.get();
                    while (backend.completeOldest(8)) {
                        // report as fast as possible while the main thread cleans up
                    }
                    finished.await(30, TimeUnit.SECONDS);
                }
            } catch (Throwable e) {
                completerFailure.set(e);
            }
        }, "backend-completer");
        completer.start();

        long succeeded = 0;
        long aborted = 0;
        for (int cycle = 0; cycle < cycles; cycle++) {
            startup();
            SocketHandle s = connectedSocket();
            MemoryHandle m = register(s, 8 * opsPerCycle);
            List<Overlapped> ovs = new ArrayList<>(opsPerCycle);
            for (int i = 0; i < opsPerCycle; i++) {
                Overlapped ov = i % 2 == 0 ? Overlapped.notifying(i) : Overlapped.polling(i);
                engine.recv(s, new WsaBuf[] {new WsaBuf(m, i * 8, 8)}, ov);
                ovs.add(ov);
            }
            current.set((ScriptedTransport.ScriptedSocket) engine.socketFor(s).transport());
            go.await(30, TimeUnit.SECONDS);
            engine.cleanup();
            finished.await(30, TimeUnit.SECONDS);

            for (Overlapped ov : ovs) {
                OverlappedResult r = ov.result();
                assertNotNull(r, "operation lost: " + ov);
                int upcallsSeen = upcalls.completionsOf(ov);
                assertEquals(ov.mode() == Overlapped.Mode.NOTIFY ? 1 : 0, upcallsSeen, "completions of " + ov);
                if (r.isSuccess()) {
                    assertEquals(8, r.bytesTransferred());
                    succeeded++;
                } else {
                    assertEquals(WsaError.WSA_OPERATION_ABORTED, r.error());
                    aborted++;
                }
            }
            assertEquals(0, transport.liveRegions.get(), "registration leaked in cycle " + cycle);
            upcalls.completions.clear();
        }
        stop.set(true);
        go.await(30, TimeUnit.SECONDS);
        completer.join(10_000);
        assertEquals(null, completerFailure.get());
        assertEquals((long) cycles * opsPerCycle, succeeded + aborted);
        System.out.printf("completion races: %d operations, %d completed by the backend, %d aborted by cleanup%n",
                succeeded + aborted, succeeded, aborted);
        // Both sides must have won sometimes, or the test raced nothing.
        assertTrue(succeeded > 0 && aborted > 0, "no real race: " + succeeded + " completed, " + aborted + " aborted");
    }

    @Test
    @Checks("LC-race")
    void callsRacingTheFinalCleanupAreRefusedOrAbortedNeverLost() throws Exception {
        int cycles = 200;
        int posters = 4;
        Map<WsaError, AtomicLong> refusals = new EnumMap<>(WsaError.class);
        for (WsaError e : WsaError.values()) {
            refusals.put(e, new AtomicLong());
        }
        long accepted = 0;
        for (int cycle = 0; cycle < cycles; cycle++) {
            startup();
            List<SocketHandle> sockets = new ArrayList<>();
            List<MemoryHandle> memory = new ArrayList<>();
            for (int i = 0; i < posters; i++) {
                SocketHandle s = connectedSocket();
                sockets.add(s);
                memory.add(register(s, 1024));
            }
            ConcurrentLinkedQueue<Overlapped> started = new ConcurrentLinkedQueue<>();
            AtomicLong startedCount = new AtomicLong();
            CyclicBarrier go = new CyclicBarrier(posters + 1);
            List<Thread> threads = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int i = 0; i < posters; i++) {
                SocketHandle s = sockets.get(i);
                MemoryHandle m = memory.get(i);
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                        for (int n = 0; n < 1_000_000; n++) {
                            if (n >= 300) {
                                // Enough piled up: keep calling, slowly, until the cleanup refuses.
                                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                            }
                            Overlapped ov = n % 2 == 0 ? Overlapped.notifying(null) : Overlapped.polling(null);
                            try {
                                engine.send(s, new WsaBuf[] {new WsaBuf(m, 0, 16)}, 0, ov);
                                started.add(ov);
                                startedCount.incrementAndGet();
                            } catch (WsaException e) {
                                refusals.get(e.error()).incrementAndGet();
                                return; // refused once: the provider is going away
                            }
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                }, "poster-" + i);
                threads.add(t);
                t.start();
            }
            go.await();
            while (startedCount.get() < posters * 20 && failure.get() == null) {
                Thread.onSpinWait();
            }
            engine.cleanup();
            for (Thread t : threads) {
                t.join(30_000);
                assertTrue(!t.isAlive(), "poster hung");
            }
            assertEquals(null, failure.get());
            for (Overlapped ov : started) {
                OverlappedResult r = ov.result();
                assertNotNull(r, "an accepted operation was lost: " + ov);
                assertEquals(WsaError.WSA_OPERATION_ABORTED, r.error());
                assertEquals(ov.mode() == Overlapped.Mode.NOTIFY ? 1 : 0, upcalls.completionsOf(ov));
            }
            accepted += startedCount.get();
            upcalls.completions.clear();
            assertEquals(0, transport.liveRegions.get());
            assertEquals(0, transport.liveSockets.get());
        }
        long refused = 0;
        for (Map.Entry<WsaError, AtomicLong> e : refusals.entrySet()) {
            if (e.getValue().get() > 0) {
                assertTrue(e.getKey() == WsaError.WSANOTINITIALISED || e.getKey() == WsaError.WSAENOTSOCK,
                        "a racing call failed with " + e.getKey());
                refused += e.getValue().get();
            }
        }
        System.out.printf("racing calls: %d accepted then aborted, %d refused%n", accepted, refused);
        assertEquals((long) cycles * posters, refused, "every poster is refused once the provider is gone");
        assertTrue(accepted > 0);
    }
}
