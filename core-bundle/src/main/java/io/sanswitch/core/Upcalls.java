package io.sanswitch.core;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.WsaException;

/**
 * The switch's upcall table as the engine uses it: the most recently supplied one (docs/rules.md Q11), and
 * a fault in the switch's code is logged, never allowed to break a completion or a cleanup
 * (a teardown survives failure, docs/architecture.md conventions). The engine calls these holding no lock.
 */
final class Upcalls {
    private static final Logger LOG = LoggerFactory.getLogger(Upcalls.class);

    private volatile UpcallTable table;

    void use(UpcallTable latest) {
        table = latest;
    }

    long createSocketHandle(SocketHandle socket) throws WsaException {
        return table.createSocketHandle(socket);
    }

    void closeSocketHandle(long switchHandle) {
        try {
            table.closeSocketHandle(switchHandle);
        } catch (RuntimeException e) {
            LOG.warn("closeSocketHandle({}) upcall threw", switchHandle, e);
        }
    }

    void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
        try {
            table.completeOverlappedRequest(switchHandle, overlapped, result);
        } catch (RuntimeException e) {
            LOG.warn("completeOverlappedRequest upcall threw for {}", overlapped, e);
        }
    }

    void setEvent(EventHandle event) {
        try {
            table.setEvent(event);
        } catch (RuntimeException e) {
            LOG.warn("setEvent upcall threw", e);
        }
    }

    void resetEvent(EventHandle event) {
        try {
            table.resetEvent(event);
        } catch (RuntimeException e) {
            LOG.warn("resetEvent upcall threw", e);
        }
    }
}
