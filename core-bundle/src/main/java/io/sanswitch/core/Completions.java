package io.sanswitch.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.completion.OverlappedCompleter;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportSocket;

/**
 * Completes operations, once each. Whoever won {@link PendingOperation#tryClaim()} calls
 * {@link #complete}: memory released first, then the result published on the overlapped, then —
 * in notify mode only — the upcall (docs/rules.md BG-overlapped, Q3, LC-b-memory: memory before completion).
 */
final class Completions {
    private static final Logger LOG = LoggerFactory.getLogger(Completions.class);
    /** The completing side of Overlapped, which only the engine's bundle is wired to. */
    static final OverlappedCompleter COMPLETER = OverlappedCompleter.get();

    private final Upcalls upcalls;

    Completions(Upcalls upcalls) {
        this.upcalls = upcalls;
    }

    /** Completes a claimed operation. Never throws. */
    void complete(PendingOperation op, OverlappedResult result) {
        EngineSocket socket = op.socket();
        try {
            socket.removePending(op);
            socket.countTransferred(op.kind(), result.bytesTransferred());
            op.releaseMemory();
            Overlapped ov = op.overlapped();
            COMPLETER.publish(ov, result);
            if (ov.mode() == Overlapped.Mode.NOTIFY) {
                upcalls.completeOverlappedRequest(socket.switchHandle(), ov, result);
            }
        } finally {
            op.markDone();
        }
    }

    /**
     * Aborts every pending operation of closing sockets: each claimed, cancelled in the backend so it
     * no longer touches their buffers, then, socket by socket in posting order, memory released and
     * completed with {@code WSA_OPERATION_ABORTED}, in batches of the backend's
     * {@link Transport#cancelBatchOperations()}: UCX, whose cancel is a hop to its worker thread, takes
     * every operation in one call; NIO, which cancels one after the other anyway, takes batches that
     * are still in the CPU's cache when they are completed, where claiming, cancelling and then
     * completing 100,000 operations made three passes through objects spread over the heap
     * (docs/performance.md, final cleanup).
     * Operations another thread is completing at this instant are left to it and waited for
     * (bounded), except one this thread is completing itself (a close or cleanup made from inside
     * its completion upcall).
     *
     * @return how many this call aborted
     */
    int abortAll(Transport transport, List<EngineSocket> sockets, Duration waitForOthers) {
        int batchOps = Math.max(1, transport.cancelBatchOperations());
        List<PendingOperation> completingElsewhere = new ArrayList<>();
        OverlappedResult aborted = OverlappedResult.failure(WsaError.WSA_OPERATION_ABORTED, 0);
        int total = 0;
        int next = 0;
        while (next < sockets.size()) {
            Map<TransportSocket, List<PostedOperation>> toCancel = new LinkedHashMap<>();
            List<PendingOperation> claimed = new ArrayList<>();
            while (next < sockets.size() && claimed.size() < batchOps) {
                EngineSocket socket = sockets.get(next++);
                List<PostedOperation> ofSocket = new ArrayList<>();
                for (PendingOperation op : socket.pendingSnapshot()) {
                    if (op.tryClaim()) {
                        ofSocket.add(op);
                        claimed.add(op);
                    } else if (!op.isCompletingOnThisThread()) {
                        completingElsewhere.add(op);
                    }
                }
                if (!ofSocket.isEmpty()) {
                    toCancel.put(socket.transport(), ofSocket);
                }
            }
            if (!toCancel.isEmpty()) {
                try {
                    transport.cancel(toCancel);
                } catch (RuntimeException e) {
                    LOG.warn("backend cancel of {} operations threw; aborting them anyway", claimed.size(), e);
                }
            }
            for (PendingOperation op : claimed) {
                complete(op, aborted);
            }
            total += claimed.size();
        }
        awaitDone(completingElsewhere, waitForOthers);
        return total;
    }

    private void awaitDone(List<PendingOperation> ops, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (PendingOperation op : ops) {
            while (op.lvState() != PendingOperation.State.DONE) {
                if (System.nanoTime() - deadline > 0 || Thread.currentThread().isInterrupted()) {
                    LOG.warn("{} still completing on another thread after {} ms; going on. {}", op, timeout.toMillis(),
                            Diagnostics.threadDump());
                    return;
                }
                LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(50));
            }
        }
    }
}
