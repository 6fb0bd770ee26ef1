package io.sanswitch.core;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.Transport;

/**
 * The final cleanup, docs/rules.md LC-a … LC-f, top to bottom in {@link #run}. Every step runs even if an
 * earlier one threw (docs/rules.md LC-order); the first failure is logged and the provider still ends idle.
 * {@code WSAENETDOWN} is the only failure reported, and only after everything was released.
 */
final class CleanupSequence {
    private static final Logger LOG = LoggerFactory.getLogger(CleanupSequence.class);

    private final String name;
    private final Transport transport;
    private final NotificationGate gate;
    private final InFlight calls;
    private final HandleTable handles;
    private final SocketTeardown teardown;
    private final Duration drainTimeout;
    private final CleanupHistory history = new CleanupHistory(CleanupHistory.DEFAULT_CAPACITY);
    private final AtomicLong finalCleanups = new AtomicLong();

    CleanupSequence(String name, Transport transport, NotificationGate gate, InFlight calls, HandleTable handles,
            SocketTeardown teardown, Duration drainTimeout) {
        this.name = name;
        this.transport = transport;
        this.gate = gate;
        this.calls = calls;
        this.handles = handles;
        this.teardown = teardown;
        this.drainTimeout = drainTimeout;
    }

    /** The most recent final cleanup, or {@code null}. */
    CleanupRecord lastReport() {
        return history.last();
    }

    /** The last final cleanups, oldest first (bounded). */
    List<CleanupRecord> history() {
        return history.snapshot();
    }

    /** {@link #history()} without this sequence (which references the transport): a view of the records only. */
    Supplier<List<CleanupRecord>> historyView() {
        CleanupHistory records = history;
        return records::snapshot;
    }

    /** Final cleanups run so far, including those the bounded history has dropped. */
    long count() {
        return finalCleanups.get();
    }

    /**
     * Runs the sequence. The lifecycle is already {@code CLEANING_UP}, so new calls are refused.
     *
     * @param generation the run this cleanup ends, for the history
     * @param networkDownReported whether the backend reported a failed network during the run
     * @return {@code WSAENETDOWN} to report, or {@code null}
     */
    WsaException run(CleanupReason reason, long generation, boolean networkDownReported) {
        Instant started = Instant.now();
        long start = System.nanoTime();
        int[] failed = {0};
        LOG.info("{}: final cleanup ({}) with {} open sockets", name, reason, handles.size());

        // a. No FD_* event reaches the switch from here on; events already past the gate are
        //    delivered first. Calls that entered before the state changed are waited for, so each
        //    of their operations is registered before step b looks (docs/rules.md LC-race).
        step(failed, "a: close the notification gate", () -> {
            if (!gate.closeAndDrain(drainTimeout)) {
                LOG.warn("{}: event postings did not drain in {} ms; going on. {}", name, drainTimeout.toMillis(),
                        Diagnostics.threadDump());
            }
            if (!calls.awaitQuiescent(drainTimeout)) {
                LOG.warn("{}: SPI calls still in progress after {} ms; going on. {}", name, drainTimeout.toMillis(),
                        Diagnostics.threadDump());
            }
        });

        // b. Every pending operation: cancelled in the backend, memory released, then completed
        //    once with WSA_OPERATION_ABORTED in its own mode.
        long gateDone = System.nanoTime();
        List<EngineSocket> sockets = handles.snapshot();
        int[] aborted = {0};
        step(failed, "b: abort pending operations", () -> {
            List<EngineSocket> closing = new ArrayList<>(sockets.size());
            for (EngineSocket s : sockets) {
                if (s.beginClose()) {
                    closing.add(s);
                }
            }
            // One backend cancel for all of them (a backend hop per operation made UCX quadratic).
            aborted[0] += teardown.abortPendingBeforeReset(closing, drainTimeout);
        });

        long abortDone = System.nanoTime();

        // c. Every open socket reset and released as by closeSocket; closeSocketHandle is the
        //    last upcall for each. One backend call, so a backend can reset them together.
        step(failed, "c: reset open sockets", () -> {
            List<EngineSocket> closing = new ArrayList<>(sockets.size());
            for (EngineSocket s : sockets) {
                if (s.life() == EngineSocket.Life.CLOSING) {
                    closing.add(s);
                }
            }
            teardown.resetAll(closing);
        });

        long resetDone = System.nanoTime();

        // d. The backend's resources (threads, ports, native contexts).
        step(failed, "d: release transport resources", transport::close);

        // e. A failed network is reported only now, so it never leaks anything.
        boolean[] down = {networkDownReported};
        step(failed, "e: ask the transport whether its network failed", () -> down[0] |= transport.networkSubsystemFailed());

        long transportDone = System.nanoTime();
        CleanupSteps steps = new CleanupSteps(gateDone - start, abortDone - gateDone, resetDone - abortDone,
                transportDone - resetDone);

        // f. Idle and restartable: the lifecycle goes to IDLE when this returns; the gate opens
        //    again with the next first startup.
        CleanupRecord report = new CleanupRecord(transport.name(), generation, started, reason, aborted[0],
                sockets.size(), System.nanoTime() - start, down[0] ? WsaError.WSAENETDOWN : null, failed[0], steps);
        history.add(report);
        finalCleanups.incrementAndGet();
        LOG.info("{}: final cleanup done in {} µs (gate {}, abort {}, reset {}, transport {} µs): {} operations aborted, "
                + "{} sockets reset{}", name, report.durationNanos() / 1000, steps.gateNanos() / 1000,
                steps.abortNanos() / 1000, steps.resetNanos() / 1000, steps.transportNanos() / 1000,
                report.operationsAborted(), report.socketsReset(), report.networkDown() ? ", network subsystem failed" : "");
        return down[0] ? new WsaException(WsaError.WSAENETDOWN, name + ": the network subsystem failed") : null;
    }

    private void step(int[] failed, String what, Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            failed[0]++;
            LOG.error("{}: cleanup step {} threw; going on with the next step", name, what, e);
        }
    }
}
