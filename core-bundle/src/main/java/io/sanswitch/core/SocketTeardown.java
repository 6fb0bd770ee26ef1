package io.sanswitch.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.transport.Transport;
import io.sanswitch.transport.TransportSocket;

/**
 * Takes one socket down, the same way for closeSocket and for the final cleanup (docs/rules.md BG-close,
 * LC-c: the cleanup resets and releases a socket as closeSocket would). The caller has won
 * {@link EngineSocket#beginClose()} and waited for the socket's calls in progress.
 */
final class SocketTeardown {
    private static final Logger LOG = LoggerFactory.getLogger(SocketTeardown.class);

    enum Kind {
        /** closeSocket: orderly teardown in the backend. */
        CLOSE,
        /** Final cleanup: abortive, the peer sees a reset (docs/rules.md LC-c, Q25). */
        RESET
    }

    private final Transport transport;
    private final HandleTable handles;
    private final Completions completions;
    private final Upcalls upcalls;

    SocketTeardown(Transport transport, HandleTable handles, Completions completions, Upcalls upcalls) {
        this.transport = transport;
        this.handles = handles;
        this.completions = completions;
        this.upcalls = upcalls;
    }

    /**
     * Aborts the socket's pending operations. Its registrations are retired first, so each one is
     * released in the backend by the abort of the last operation using it, before that abort's
     * completion (memory first, then {@code WSA_OPERATION_ABORTED}).
     *
     * @return operations aborted
     */
    int abortPending(EngineSocket socket, Duration waitForOthers) {
        return abortPending(List.of(socket), waitForOthers);
    }

    /**
     * {@link #abortPending(EngineSocket, Duration)} for many sockets with one backend cancel (the
     * final cleanup's step b).
     *
     * @return operations aborted
     */
    int abortPending(List<EngineSocket> sockets, Duration waitForOthers) {
        for (EngineSocket s : sockets) {
            s.memory().retireAll();
        }
        return completions.abortAll(transport, sockets, waitForOthers);
    }

    /**
     * {@link #abortPending(List, Duration)} for the final cleanup's step b: the backend is told first
     * that each socket will be reset (step c), so releasing its registrations owes the peer nothing
     * orderly (over UCX no revocation round trip per RDMA exposure, docs/toolchain.md TC-22).
     *
     * @return operations aborted
     */
    int abortPendingBeforeReset(List<EngineSocket> sockets, Duration waitForOthers) {
        for (EngineSocket s : sockets) {
            try {
                s.transport().resetFollows();
            } catch (RuntimeException e) {
                LOG.warn("backend resetFollows of {} threw; going on", s, e);
            }
        }
        return abortPending(sockets, waitForOthers);
    }

    /**
     * Tears the backend socket down, forgets the descriptor and makes
     * {@code closeSocketHandle} the last upcall for it (docs/rules.md SK-handle, Q2). Never throws.
     */
    void release(EngineSocket socket, Kind kind) {
        try {
            if (kind == Kind.RESET) {
                socket.transport().reset();
            } else {
                socket.transport().closeGracefully();
            }
        } catch (RuntimeException e) {
            LOG.warn("backend {} of {} threw; releasing it anyway", kind, socket, e);
        }
        forget(socket);
    }

    /**
     * {@link #release} with {@link Kind#RESET} for many sockets (the final cleanup's step c): the
     * backend resets them in one call, so it can tear its endpoints down together and wait once.
     */
    void resetAll(List<EngineSocket> sockets) {
        List<TransportSocket> backend = new ArrayList<>(sockets.size());
        for (EngineSocket s : sockets) {
            backend.add(s.transport());
        }
        try {
            transport.reset(backend);
        } catch (RuntimeException e) {
            LOG.warn("backend reset of {} sockets threw; releasing them anyway", sockets.size(), e);
        }
        for (EngineSocket s : sockets) {
            forget(s);
        }
    }

    /** The engine's side of a release, after the backend's teardown. */
    private void forget(EngineSocket socket) {
        // Only a drain that timed out can leave a call that registered memory after step b.
        socket.memory().retireAll();
        handles.remove(socket);
        if (socket.hasSwitchHandle()) {
            upcalls.closeSocketHandle(socket.switchHandle());
        }
        socket.markClosed();
    }
}
