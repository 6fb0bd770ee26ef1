package io.sanswitch.spi;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A local memory registration made by {@code registerMemory} (docs/rules.md BG-registered): valid only for the
 * socket that registered it, and only until it is deregistered or that socket is closed
 * (docs/rules.md Q23). Opaque and unforgeable, like {@link SocketHandle}.
 */
@ProviderType
public interface MemoryHandle {
    /** Bytes covered by the registration. */
    int length();

    /** {@link Winsock#MEM_READ}, {@link Winsock#MEM_WRITE} or {@link Winsock#MEM_READWRITE}. */
    int access();
}
