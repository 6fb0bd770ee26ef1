package io.sanswitch.core;

import java.nio.ByteBuffer;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.transport.TransportRegion;

/**
 * One memory registration of one socket: the switch's {@link MemoryHandle}, the backend's region,
 * and the number of posted transfers using it (its pins). A pinned registration cannot be
 * deregistered ({@code WSAEINVAL}: "buffer still used by a transfer"). When its socket closes it
 * is retired: the last unpin, or the retirement itself if nothing pins it, releases the region in
 * the backend exactly once. Released before the aborted completion of the last transfer that used
 * it (docs/rules.md LC-b-memory: memory first, then the completion).
 */
final class Registration implements MemoryHandle {
    private final EngineSocket socket;
    private final TransportRegion region;
    private final int access;
    private final boolean remote;
    private int pins;
    private boolean retired;
    private boolean released;

    Registration(EngineSocket socket, TransportRegion region, int access, boolean remote) {
        this.socket = socket;
        this.region = region;
        this.access = access;
        this.remote = remote;
    }

    EngineSocket socket() {
        return socket;
    }

    TransportRegion region() {
        return region;
    }

    RdmaBufferDescriptor descriptor() {
        return region.remoteDescriptor();
    }

    ByteBuffer buffer() {
        return region.buffer();
    }

    @Override
    public int length() {
        return region.buffer().capacity();
    }

    @Override
    public int access() {
        return access;
    }

    /** Takes one pin for a transfer; {@code false} once retired. */
    synchronized boolean pin() {
        if (retired) {
            return false;
        }
        pins++;
        return true;
    }

    /** Drops one pin; releases the region if that was the last pin of a retired registration. */
    void unpin() {
        boolean release;
        synchronized (this) {
            pins--;
            release = retired && pins == 0 && !released;
            released |= release;
        }
        if (release) {
            socket.transport().deregister(region);
        }
    }

    /**
     * Retires the registration if nothing pins it.
     *
     * @return {@code false} (and nothing changed) if a transfer still uses it
     */
    boolean retireIfUnpinned() {
        synchronized (this) {
            if (pins > 0 || retired) {
                return false;
            }
            retired = true;
            released = true;
        }
        socket.transport().deregister(region);
        return true;
    }

    /** Retires it for good: released now, or by the last transfer's unpin. */
    void retire() {
        boolean release;
        synchronized (this) {
            if (retired) {
                return;
            }
            retired = true;
            release = pins == 0;
            released |= release;
        }
        if (release) {
            socket.transport().deregister(region);
        }
    }

    synchronized int pins() {
        return pins;
    }

    @Override
    public String toString() {
        return "Registration[" + length() + " bytes, access " + access + (remote ? ", rdma" : "") + ", pins " + pins() + "]";
    }
}
