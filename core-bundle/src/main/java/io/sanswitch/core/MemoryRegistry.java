package io.sanswitch.core;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The registrations of one socket (docs/rules.md BG-registered): local ones by handle, RDMA ones by descriptor.
 * Checks every transfer buffer against them, since in Java a buffer is named as a slice of a
 * registration and must lie inside it (never touch memory outside a registration).
 */
final class MemoryRegistry {
    private final ConcurrentHashMap<Registration, Boolean> local = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<RdmaBufferDescriptor, Registration> remote = new ConcurrentHashMap<>();

    void addLocal(Registration r) {
        local.put(r, Boolean.TRUE);
    }

    void addRemote(Registration r) {
        remote.put(r.descriptor(), r);
    }

    /**
     * Deregisters a local registration of this socket.
     *
     * @throws WsaException {@code WSAEINVAL}: not a live registration of this socket, or still
     *     used by a transfer
     */
    void deregisterLocal(MemoryHandle handle) throws WsaException {
        if (!(handle instanceof Registration r) || !local.containsKey(r)) {
            throw new WsaException(WsaError.WSAEINVAL, "not a registration of this socket: " + handle);
        }
        if (!r.retireIfUnpinned()) {
            throw new WsaException(WsaError.WSAEINVAL, "registration still used by a transfer: " + r);
        }
        local.remove(r);
    }

    /** @throws WsaException {@code WSAEINVAL}: unknown descriptor */
    void deregisterRemote(RdmaBufferDescriptor descriptor) throws WsaException {
        Registration r = descriptor == null ? null : remote.remove(descriptor);
        if (r == null) {
            throw new WsaException(WsaError.WSAEINVAL, "not an RDMA registration of this socket: " + descriptor);
        }
        r.retire();
    }

    /** Retires every registration: released now, or by the last transfer still using it. */
    void retireAll() {
        for (Registration r : new ArrayList<>(local.keySet())) {
            r.retire();
        }
        local.clear();
        for (Registration r : new ArrayList<>(remote.values())) {
            r.retire();
        }
        remote.clear();
    }

    /**
     * Resolves transfer buffers to slices of their registrations and pins those registrations.
     *
     * @param requiredAccess {@link Winsock#MEM_READ} for data the backend reads,
     *     {@link Winsock#MEM_WRITE} for data it writes
     * @param pinsOut receives the pinned registrations, index by index
     * @throws WsaException {@code WSAEFAULT}: a buffer outside its registration, a registration
     *     not of this socket (or deregistered), or one without the access; nothing stays pinned
     */
    ByteBuffer[] resolveAndPin(WsaBuf[] buffers, int requiredAccess, Registration[] pinsOut) throws WsaException {
        ByteBuffer[] slices = new ByteBuffer[buffers.length];
        int pinned = 0;
        try {
            for (int i = 0; i < buffers.length; i++) {
                WsaBuf b = buffers[i];
                if (b == null) {
                    throw new WsaException(WsaError.WSAEFAULT, "buffer " + i + " is null");
                }
                if (!(b.registration() instanceof Registration r) || !local.containsKey(r)) {
                    throw new WsaException(WsaError.WSAEFAULT, "buffer " + i + " is not in memory registered for this socket");
                }
                if ((r.access() & requiredAccess) != requiredAccess) {
                    throw new WsaException(WsaError.WSAEFAULT, "buffer " + i + ": registration lacks access " + requiredAccess);
                }
                long end = (long) b.offset() + b.length();
                if (b.offset() < 0 || b.length() < 0 || end > r.length()) {
                    throw new WsaException(WsaError.WSAEFAULT, "buffer " + i + " [" + b.offset() + ", " + end
                            + ") lies outside its registration of " + r.length() + " bytes");
                }
                if (!r.pin()) {
                    throw new WsaException(WsaError.WSAEFAULT, "buffer " + i + ": registration was deregistered");
                }
                pinsOut[i] = r;
                pinned++;
                slices[i] = r.buffer().duplicate().clear().position(b.offset()).limit((int) end).slice();
            }
            return slices;
        } catch (WsaException e) {
            for (int i = 0; i < pinned; i++) {
                pinsOut[i].unpin();
                pinsOut[i] = null;
            }
            throw e;
        }
    }
}
