package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * docs/rules.md SK-no-events-after-close against a backend thread that delivers an FD_* event
 * while another thread closes the socket: the NIO selector loop reports a connection request
 * outside its own lock, so the engine's record and the switch's setEvent can still be under way
 * when closeSocket runs. The delivery is held inside the switch's setEvent, so the test decides
 * the interleaving instead of the scheduler.
 */
@Timeout(30)
class EventDeliveryAtCloseTest extends EngineTestSupport {

    /** The engine's wait for a socket's deliveries, as it shows in a thread's stack. */
    private static final String DELIVERY_WAIT = "awaitEventDeliveries";

    @BeforeEach
    void start() throws Exception {
        // A drain timeout far beyond the test's: a closeSocket that waited on its own thread would
        // hang the test instead of going on after a few seconds unnoticed.
        engine = new ProviderEngine(transport, EngineConfig.defaults(transport.name()).withDrainTimeout(Duration.ofMinutes(10)));
        startup();
    }

    private SocketHandle listener(RecordingSwitch.Event event) throws Exception {
        SocketHandle l = newSocket();
        engine.bind(l, LOCAL);
        engine.listen(l, Winsock.SOMAXCONN);
        engine.eventSelect(l, event, NetworkEvents.FD_ACCEPT);
        return l;
    }

    private ScriptedTransport.ScriptedSocket backendOf(SocketHandle s) throws Exception {
        return (ScriptedTransport.ScriptedSocket) engine.socketFor(s).transport();
    }

    @Test
    @Checks("SK-no-events-after-close")
    void closeSocketReturnsOnlyOnceAnFdAcceptBeingDeliveredOnAnotherThreadIsOver() throws Exception {
        SocketHandle l = listener(new RecordingSwitch.Event());
        ScriptedTransport.ScriptedSocket backend = backendOf(l);
        CountDownLatch delivering = new CountDownLatch(1);
        CountDownLatch closeReturned = new CountDownLatch(1);
        AtomicLong deliveryDone = new AtomicLong();
        AtomicLong closeDone = new AtomicLong();
        AtomicReference<Thread> closer = new AtomicReference<>();
        AtomicReference<String> seenByDelivery = new AtomicReference<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();

        // The delivery stays inside setEvent until one of two positive signals: closeSocket
        // returned (the violation), or closeSocket waits for this delivery (the rule kept).
        upcalls.insideSetEvent = e -> {
            delivering.countDown();
            try {
                Eventually.until("closeSocket returned or waits for the delivery", () -> closeReturned.getCount() == 0
                        || waitsForDeliveries(closer.get()));
            } catch (InterruptedException | AssertionError x) {
                failed.set(x);
            }
            seenByDelivery.set(closeReturned.getCount() == 0 ? "closeSocket had returned" : "closeSocket was waiting");
            deliveryDone.set(ScriptedTransport.SEQUENCE.incrementAndGet());
        };
        Thread selector = new Thread(() -> backend.arrive(REMOTE), "scripted-selector-loop");
        selector.start();
        assertTrue(delivering.await(10, TimeUnit.SECONDS), "the FD_ACCEPT delivery began");

        Thread closing = new Thread(() -> {
            try {
                engine.closeSocket(l);
            } catch (Throwable t) {
                failed.compareAndSet(null, t);
            }
            closeDone.set(ScriptedTransport.SEQUENCE.incrementAndGet());
            closeReturned.countDown();
        }, "closer");
        closer.set(closing);
        closing.start();
        closing.join(20_000);
        selector.join(20_000);
        assertFalse(closing.isAlive() || selector.isAlive(), "closer and delivery ended");

        assertNull(failed.get(), () -> "failed: " + failed.get());
        assertEquals("closeSocket was waiting", seenByDelivery.get(),
                "closeSocket returned while an FD_ACCEPT for its socket was still being delivered");
        assertTrue(deliveryDone.get() < closeDone.get(), "delivery ended at " + deliveryDone.get()
                + ", closeSocket returned at " + closeDone.get());
        assertEquals(1, upcalls.eventsSet.size());
        assertWsa(WsaError.WSAENOTSOCK, () -> engine.enumNetworkEvents(l, null));
    }

    @Test
    @Checks("SK-no-events-after-close")
    void closeSocketInsideTheFdAcceptUpcallOfItsOwnSocketDoesNotWaitForItself() throws Exception {
        SocketHandle l = listener(new RecordingSwitch.Event());
        ScriptedTransport.ScriptedSocket backend = backendOf(l);
        long switchHandle = engine.socketFor(l).switchHandle();
        AtomicReference<Throwable> closeFailed = new AtomicReference<>();
        CountDownLatch closedInside = new CountDownLatch(1);
        upcalls.insideSetEvent = e -> {
            upcalls.insideSetEvent = x -> { };
            try {
                engine.closeSocket(l);
                closedInside.countDown();
            } catch (Throwable t) {
                closeFailed.set(t);
            }
        };
        backend.arrive(REMOTE); // the engine records and signals on this thread

        assertNull(closeFailed.get());
        assertEquals(0, closedInside.getCount(), "closeSocket returned inside the setEvent upcall");
        assertEquals(1, upcalls.handleCloses.get(switchHandle).get());
        assertEquals("closeGracefully", backend.endedBy);
        // A request reported after the close: the engine has handled it when arrive returns.
        backend.arrive(REMOTE);
        assertEquals(1, upcalls.eventsSet.size(), "no FD_ACCEPT after closeSocket");
    }

    /** {@code t} is parked in the engine's wait for its socket's event deliveries. */
    private static boolean waitsForDeliveries(Thread t) {
        if (t == null || !parked(t)) {
            return false;
        }
        for (StackTraceElement f : t.getStackTrace()) {
            if (f.getMethodName().equals(DELIVERY_WAIT)) {
                return parked(t);
            }
        }
        return false;
    }

    private static boolean parked(Thread t) {
        Thread.State s = t.getState();
        return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING;
    }
}
