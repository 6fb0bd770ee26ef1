package io.sanswitch.core;

import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.NetworkEvents;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.WsaError;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.transport.TransportEvents;
import io.sanswitch.transport.TransportSocket;

/**
 * Where the backend reports. A transfer report completes the operation only if it wins the
 * operation's claim (an aborted one ignores it); an FD_* event passes the notification gate, is
 * recorded on the socket if selected, and sets the switch's event object.
 */
final class EngineEvents implements TransportEvents {
    private static final Logger LOG = LoggerFactory.getLogger(EngineEvents.class);

    private final HandleTable handles;
    private final NotificationGate gate;
    private final Completions completions;
    private final Upcalls upcalls;
    private final AtomicBoolean networkDown;

    EngineEvents(HandleTable handles, NotificationGate gate, Completions completions, Upcalls upcalls,
            AtomicBoolean networkDown) {
        this.handles = handles;
        this.gate = gate;
        this.completions = completions;
        this.upcalls = upcalls;
        this.networkDown = networkDown;
    }

    @Override
    public void operationCompleted(PostedOperation operation, long bytesTransferred) {
        finish(operation, OverlappedResult.success(Math.max(0, bytesTransferred)));
    }

    @Override
    public void operationFailed(PostedOperation operation, WsaError error, long bytesTransferred) {
        finish(operation, OverlappedResult.failure(ErrorPolicy.completionStatus(error), Math.max(0, bytesTransferred)));
    }

    private void finish(PostedOperation operation, OverlappedResult result) {
        if (!(operation instanceof PendingOperation op)) {
            LOG.warn("backend reported an operation the engine never posted: {}", operation);
            return;
        }
        if (op.tryClaim()) {
            OverlappedResult outcome = afterCleanupBegan(result);
            if (op.isBeingPostedOnThisThread()) {
                // docs/rules.md OV-immediate: never inside the call that posts it; completed after it returned.
                op.holdEarlyReport(outcome);
            } else {
                completions.complete(op, outcome);
            }
        } else {
            // A legal race: cancel, closeSocket or the final cleanup completed it first.
            LOG.trace("report for {} lost the race to complete it", op);
        }
    }

    /**
     * docs/rules.md LC-b, LC-race: an operation still pending when the final cleanup closed the gate
     * ends aborted whatever the backend reports meanwhile (a reset from the cleanup's own forced close
     * of a sibling socket, a failed link); a success stays a success. Checked after the claim, so a
     * failure claimed before the gate closed really finished first.
     */
    private OverlappedResult afterCleanupBegan(OverlappedResult result) {
        if (result.isSuccess() || gate.isOpen()) {
            return result;
        }
        return OverlappedResult.failure(WsaError.WSA_OPERATION_ABORTED, result.bytesTransferred());
    }

    @Override
    public void connectCompleted(TransportSocket socket, WsaError error) {
        EngineSocket s = handles.byTransport(socket);
        if (s == null) {
            return;
        }
        s.compareAndSetRole(EngineSocket.Role.CONNECTING,
                error == null ? EngineSocket.Role.CONNECTED : EngineSocket.Role.BOUND);
        post(s, NetworkEvents.FD_CONNECT_BIT, error);
    }

    @Override
    public void connectionRequested(TransportSocket socket) {
        EngineSocket s = handles.byTransport(socket);
        if (s != null) {
            post(s, NetworkEvents.FD_ACCEPT_BIT, null);
        }
    }

    @Override
    public void networkSubsystemFailed(String reason) {
        if (networkDown.compareAndSet(false, true)) {
            LOG.error("network subsystem failed: {}", reason);
        }
    }

    /** Records and signals one FD_* event through the gate (docs/rules.md BG-events, LC-a). */
    void post(EngineSocket s, int bit, WsaError error) {
        if (!gate.tryEnter()) {
            LOG.trace("dropped event bit {} on {}: notification gate closed", bit, s);
            return;
        }
        // Counted on the socket too: a backend thread reports outside its own lock (NIO's selector
        // loop), so closeSocket may begin between the record and the setEvent; it waits for this
        // delivery (docs/rules.md SK-no-events-after-close).
        s.deliveryBegins();
        try {
            EventHandle toSet = s.record(bit, error);
            if (toSet != null) {
                upcalls.setEvent(toSet);
            }
        } finally {
            s.deliveryDone();
            gate.exit();
        }
    }
}
