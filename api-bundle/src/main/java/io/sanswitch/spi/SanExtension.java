package io.sanswitch.spi;

import java.util.UUID;

/**
 * The SAN extension functions the switch fetches with {@code SIO_GET_EXTENSION_FUNCTION_POINTER}
 * (docs/rules.md RD-extensions), with their GUIDs. Java has no function pointers: the lookup answers with the
 * constant, and the function itself is the method of the same name on
 * {@link SanServiceProvider}. A provider that lacks an {@linkplain #optional() optional} one
 * answers its lookup, and the method, with {@code WSAEOPNOTSUPP}.
 */
public enum SanExtension {
    REGISTER_MEMORY("c0b422f5-f58c-11d1-ad6c-00c04fa34a2d", false),
    DEREGISTER_MEMORY("c0b422f6-f58c-11d1-ad6c-00c04fa34a2d", false),
    REGISTER_RDMA_MEMORY("c0b422f7-f58c-11d1-ad6c-00c04fa34a2d", false),
    DEREGISTER_RDMA_MEMORY("c0b422f8-f58c-11d1-ad6c-00c04fa34a2d", false),
    RDMA_WRITE("c0b422f9-f58c-11d1-ad6c-00c04fa34a2d", false),
    RDMA_READ("c0b422fa-f58c-11d1-ad6c-00c04fa34a2d", true),
    MEMORY_REGISTRATION_CACHE_CALLBACK("e5da4af8-d824-48cd-a799-6337a98ed2af", true);

    private final UUID guid;
    private final boolean optional;

    SanExtension(String guid, boolean optional) {
        this.guid = UUID.fromString(guid);
        this.optional = optional;
    }

    public UUID guid() {
        return guid;
    }

    /** {@code true} for the two extensions a provider may lack (docs/rules.md RD-extensions). */
    public boolean optional() {
        return optional;
    }

    /** The extension with this GUID, or {@code null} if it is not a SAN extension. */
    public static SanExtension byGuid(UUID guid) {
        for (SanExtension e : values()) {
            if (e.guid.equals(guid)) {
                return e;
            }
        }
        return null;
    }
}
