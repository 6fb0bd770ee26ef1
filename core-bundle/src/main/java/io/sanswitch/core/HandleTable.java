package io.sanswitch.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.TransportSocket;

/**
 * The open sockets of the current run, by the switch's descriptor and by the backend's socket.
 * Descriptors carry the generation of the run that made them (docs/rules.md LC-stale) and a serial that is
 * never reused, so a stale or closed descriptor is never mistaken for a live one.
 */
final class HandleTable {
    private final ConcurrentHashMap<EngineSocketHandle, EngineSocket> byHandle = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<TransportSocket, EngineSocket> byTransport = new ConcurrentHashMap<>();
    private final AtomicLong serials = new AtomicLong();

    EngineSocketHandle newHandle(long generation) {
        return new EngineSocketHandle(this, generation, serials.incrementAndGet());
    }

    void add(EngineSocket socket) {
        byHandle.put(socket.handle(), socket);
        byTransport.put(socket.transport(), socket);
    }

    void remove(EngineSocket socket) {
        byHandle.remove(socket.handle(), socket);
        byTransport.remove(socket.transport(), socket);
    }

    /**
     * The live socket of this descriptor in run {@code generation}.
     *
     * @throws WsaException {@code WSAENOTSOCK}: {@code null}, foreign, of an earlier run, or closed
     */
    EngineSocket lookup(SocketHandle handle, long generation) throws WsaException {
        if (!(handle instanceof EngineSocketHandle h) || h.owner() != this) {
            throw new WsaException(WsaError.WSAENOTSOCK, "not a socket of this provider: " + handle);
        }
        if (h.generation() != generation) {
            throw new WsaException(WsaError.WSAENOTSOCK, handle + " belongs to an earlier run (now generation " + generation + ")");
        }
        EngineSocket socket = byHandle.get(h);
        if (socket == null) {
            throw new WsaException(WsaError.WSAENOTSOCK, handle + " is closed");
        }
        return socket;
    }

    /** The socket a backend reports about, or {@code null} once it is gone. */
    EngineSocket byTransport(TransportSocket socket) {
        return socket == null ? null : byTransport.get(socket);
    }

    List<EngineSocket> snapshot() {
        return new ArrayList<>(byHandle.values());
    }

    int size() {
        return byHandle.size();
    }
}
