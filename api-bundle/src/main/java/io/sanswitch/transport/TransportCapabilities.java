package io.sanswitch.transport;

/**
 * What a backend can do, declared once. The engine answers the extension lookup and the
 * size options from it, and tests assume rather than fork on it. No backend keeps a registration
 * cache (docs/rules.md BG-cache), so {@code memoryRegistrationCacheCallback} is always {@code WSAEOPNOTSUPP}.
 *
 * @param rdma the backend has {@code registerRdmaMemory} and {@code rdmaWrite}; without it every
 *     RDMA extension is {@code WSAEOPNOTSUPP} (a plain TCP fallback)
 * @param rdmaRead the backend has {@code rdmaRead} (optional extension, docs/rules.md RD-extensions)
 * @param maxMessageSize {@code SO_MAX_MSG_SIZE}: largest single send, 0 for a byte stream
 * @param maxRdmaSize {@code SO_MAX_RDMA_SIZE}: largest single RDMA transfer, 0 for no limit
 * @param rdmaThresholdSize {@code SO_RDMA_THRESHOLD_SIZE}: preferred minimum RDMA size
 */
public record TransportCapabilities(boolean rdma, boolean rdmaRead, int maxMessageSize,
        int maxRdmaSize, int rdmaThresholdSize) {

    /** A byte-stream backend with no RDMA at all. */
    public static TransportCapabilities streamOnly() {
        return new TransportCapabilities(false, false, 0, 0, 0);
    }
}
