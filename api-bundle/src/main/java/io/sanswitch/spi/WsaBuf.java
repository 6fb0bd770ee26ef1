package io.sanswitch.spi;

import java.util.Objects;

/**
 * One buffer of a send, receive or RDMA transfer: the Java form of {@code WSABUFEX}
 * ({@code len}, {@code buf}, {@code handle}). Java has no pointers, so the buffer is named as a
 * slice of a registration: {@code length} bytes from {@code offset} inside the memory of
 * {@code registration}. The provider checks that the slice lies inside the registration and that
 * the registration allows the access; otherwise the call fails with {@code WSAEFAULT}
 * (docs/rules.md BG-session: transfer buffers lie in registered memory).
 */
public record WsaBuf(MemoryHandle registration, int offset, int length) {
    public WsaBuf {
        Objects.requireNonNull(registration, "registration");
    }

    /** The whole registration as one buffer. */
    public static WsaBuf of(MemoryHandle registration) {
        return new WsaBuf(registration, 0, registration.length());
    }
}
