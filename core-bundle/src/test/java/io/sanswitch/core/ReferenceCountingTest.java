package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.ProviderData;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WinsockVersion;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/** docs/rules.md LC-count and LC-unmatched: startupEx counts, cleanup decrements, only the final one cleans up. */
@Timeout(60)
class ReferenceCountingTest extends EngineTestSupport {

    @Test
    @Checks({"LC-count", "LC-d"})
    void referenceCountHolds1000StartupsFrom8ThreadsAndOnlyTheLastCleanupIsFinal() throws Exception {
        int threads = 8;
        int perThread = 125;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        startup();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
            assertEquals(1000, engine.referenceCount());
            assertEquals(1, transport.opens.get(), "only the first startup opens the transport");

            // 999 cleanups from 8 threads: none of them is final.
            AtomicInteger finals = new AtomicInteger();
            done.clear();
            CyclicBarrier start2 = new CyclicBarrier(threads);
            for (int t = 0; t < threads; t++) {
                int n = t < 7 ? 125 : 124;
                done.add(pool.submit(() -> {
                    start2.await();
                    for (int i = 0; i < n; i++) {
                        engine.cleanup();
                        if (transport.closes.get() > 0) {
                            finals.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
            assertEquals(1, engine.referenceCount());
            assertEquals(0, finals.get(), "a non-final cleanup touched the transport");
            assertEquals(0, transport.closes.get());

            engine.cleanup();
            assertEquals(0, engine.referenceCount());
            assertEquals(1, transport.closes.get(), "the final cleanup closes the transport once");
            assertWsa(WsaError.WSANOTINITIALISED, engine::cleanup);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Checks("LC-once")
    void concurrentCleanupsRunExactlyOneFinalCleanup() throws Exception {
        for (int i = 0; i < 8; i++) {
            startup();
        }
        SocketHandle s = connectedSocket();
        Overlapped ov = postRecv(s, Overlapped.Mode.NOTIFY);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            CyclicBarrier start = new CyclicBarrier(8);
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    start.await();
                    engine.cleanup();
                    return true;
                }));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get(30, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, transport.closes.get());
        assertEquals(1, upcalls.completionsOf(ov));
        assertEquals(1, engine.lastCleanupReport().operationsAborted());
    }

    @Test
    @Checks("LC-count")
    void nonFinalCleanupTouchesNothing() throws Exception {
        startup();
        startup();
        SocketHandle s = connectedSocket();
        Overlapped ov = postRecv(s, Overlapped.Mode.NOTIFY);
        engine.cleanup();
        assertTrue(engine.isRunning());
        assertEquals(1, engine.openSockets());
        assertEquals(1, engine.pendingOperations());
        assertFalse(ov.isDone());
        assertEquals(0, transport.closes.get());
        assertTrue(transport.journal("cancel").isEmpty());
    }

    @Test
    @Checks("LC-unmatched")
    void cleanupWithoutStartupIsWsaNotInitialised() {
        assertWsa(WsaError.WSANOTINITIALISED, engine::cleanup);
    }

    @Test
    @Checks("LC-unmatched")
    void cleanupAfterTheFinalOneIsWsaNotInitialised() throws Exception {
        startup();
        engine.cleanup();
        assertWsa(WsaError.WSANOTINITIALISED, engine::cleanup);
    }

    @Test
    @Checks("ST-version")
    void startupBelowVersion22IsWsaVerNotSupported() {
        assertWsa(WsaError.WSAVERNOTSUPPORTED,
                () -> engine.startupEx(WinsockVersion.fromWord(0x0102), ProtocolInfo.TCP_IPV4, upcalls));
        assertWsa(WsaError.WSAVERNOTSUPPORTED,
                () -> engine.startupEx(new WinsockVersion(1, 1), ProtocolInfo.TCP_IPV4, upcalls));
        assertEquals(0, transport.opens.get());
    }

    @Test
    @Checks("ST-version")
    void startupAbove22IsAnswered22ComparingMajorThenMinor() throws Exception {
        // 3.0 is the word 0x0003, numerically below 0x0202, yet newer (docs/rules.md ST-version).
        ProviderData data = engine.startupEx(WinsockVersion.fromWord(0x0003), ProtocolInfo.TCP_IPV4, upcalls);
        assertEquals(WinsockVersion.V2_2, data.version());
        assertEquals(WinsockVersion.V2_2, data.highVersion());
        assertTrue(data.description().contains("scripted"));
    }

    @Test
    @Checks({"ST-sysnotready", "ST-failed"})
    void startupWhenTransportCannotOpenIsWsaSysNotReadyAndChangesNothing() throws Exception {
        transport.fail(ScriptedTransport.Primitive.OPEN, WsaError.WSAENETDOWN);
        assertWsa(WsaError.WSASYSNOTREADY, this::startup);
        assertEquals(0, engine.referenceCount());
        assertWsa(WsaError.WSANOTINITIALISED, engine::cleanup);
        transport.fail(ScriptedTransport.Primitive.OPEN, null);
        startup();
        assertEquals(1, engine.referenceCount());
    }

    @Test
    @Checks({"ST-limits", "ST-failed"})
    void startupBeyondTheConfiguredMaximumIsWsaEProcLim() throws Exception {
        engine = new ProviderEngine(transport, EngineConfig.defaults("scripted").withMaxStartups(3));
        startup();
        startup();
        startup();
        assertWsa(WsaError.WSAEPROCLIM, this::startup);
        assertEquals(3, engine.referenceCount());
    }

    @Test
    @Checks("ST-limits")
    void startupWithNullArgumentsIsWsaEFault() {
        assertWsa(WsaError.WSAEFAULT, () -> engine.startupEx(null, ProtocolInfo.TCP_IPV4, upcalls));
        assertWsa(WsaError.WSAEFAULT, () -> engine.startupEx(WinsockVersion.V2_2, null, upcalls));
        assertWsa(WsaError.WSAEFAULT, () -> engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, null));
    }

    @Test
    @Checks("ST-upcall-table")
    void theMostRecentUpcallTableIsUsed() throws Exception {
        startup();
        RecordingSwitch second = new RecordingSwitch(transport);
        engine.startupEx(WinsockVersion.V2_2, ProtocolInfo.TCP_IPV4, second);
        SocketHandle s = connectedSocket();
        Overlapped ov = postRecv(s, Overlapped.Mode.NOTIFY);
        ((ScriptedTransport.ScriptedSocket) engine.socketFor(s).transport()).completeOldest(5);
        assertEquals(0, upcalls.completionsOf(ov));
        assertEquals(1, second.completionsOf(ov));
        assertSame(null, ov.result().error());
    }
}
