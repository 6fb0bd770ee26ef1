package io.sanswitch.core;

import io.sanswitch.spi.SocketHandle;

/**
 * The engine's socket descriptor. Compared by identity: the switch hands back the object it was
 * given, so a forged or foreign handle is simply not found ({@code WSAENOTSOCK}).
 */
final class EngineSocketHandle implements SocketHandle {
    private final HandleTable owner;
    private final long generation;
    private final long serial;

    EngineSocketHandle(HandleTable owner, long generation, long serial) {
        this.owner = owner;
        this.generation = generation;
        this.serial = serial;
    }

    HandleTable owner() {
        return owner;
    }

    @Override
    public long generation() {
        return generation;
    }

    long serial() {
        return serial;
    }

    @Override
    public String toString() {
        return "socket#" + generation + "." + serial;
    }
}
