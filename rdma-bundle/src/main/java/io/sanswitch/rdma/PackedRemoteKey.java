package io.sanswitch.rdma;

/**
 * The layout of a packed UCX remote key, checked before UCX reads one that came from the peer
 * (in an RDMA buffer descriptor). UCX 1.13's {@code ucp_ep_rkey_unpack} trusts every size in it.
 *
 * <p>As {@code ucp_rkey_pack} writes it (UCX 1.13, {@code src/ucp/core/ucp_rkey.c}), in the
 * byte order of the host (little-endian on x86-64, the only platform of this bundle's library):
 * <pre>
 *   uint64 md_map     memory domains with a key, one bit each
 *   uint8  mem_type   ucs_memory_type_t of the memory
 *   per bit of md_map, lowest first:
 *     uint8 size, then size bytes of that domain's key
 * </pre>
 * It packs no system device part (that only the new protocols' internal packing adds), so the
 * sizes add up to the length exactly. The same check is made in the JNI library.
 */
final class PackedRemoteKey {
    /** Every ucp_rkey_pack key: 64 memory domains at most, each key at most 255 bytes. */
    static final int MAX_LENGTH = Long.BYTES + 1 + 64 * (1 + 255);
    /** UCS_MEMORY_TYPE_HOST: this backend maps only Java direct buffers, host memory. */
    static final int HOST_MEMORY = 0;
    private static final int HEADER = Long.BYTES + 1;

    private PackedRemoteKey() {
    }

    /** @return why {@code packed} is no packed key of host memory, or null if it is one */
    static String problem(byte[] packed) {
        if (packed == null || packed.length == 0) {
            return "no remote key";
        }
        if (packed.length > MAX_LENGTH) {
            return "a remote key of " + packed.length + " bytes (at most " + MAX_LENGTH + ")";
        }
        if (packed.length < HEADER) {
            return "a remote key of " + packed.length + " bytes is shorter than its header (" + HEADER + ")";
        }
        long mdMap = 0;
        for (int i = Long.BYTES - 1; i >= 0; i--) {
            mdMap = (mdMap << 8) | (packed[i] & 0xFF);
        }
        int memoryType = packed[Long.BYTES] & 0xFF;
        if (memoryType != HOST_MEMORY) {
            return "a remote key of memory type " + memoryType + ", not host memory";
        }
        int at = HEADER;
        for (int domain = 0; domain < Long.SIZE; domain++) {
            if ((mdMap & (1L << domain)) == 0) {
                continue;
            }
            if (at >= packed.length) {
                return "the remote key ends before the key of memory domain " + domain + " (" + packed.length + " bytes)";
            }
            at += 1 + (packed[at] & 0xFF);
            if (at > packed.length) {
                return "the key of memory domain " + domain + " runs past the remote key's " + packed.length + " bytes";
            }
        }
        if (at != packed.length) {
            return "the remote key's parts add up to " + at + " bytes, not its " + packed.length;
        }
        return null;
    }
}
