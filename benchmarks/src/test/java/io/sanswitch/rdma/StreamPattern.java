package io.sanswitch.rdma;

/**
 * The move tests' streams: the byte at each offset of a stream is a function of the offset and the
 * stream's seed, so a byte lost, duplicated or reordered shows at its offset.
 */
final class StreamPattern {
    private StreamPattern() {
    }

    /** The byte at {@code offset} of the stream seeded {@code seed}. */
    static byte pattern(long seed, long offset) {
        long x = (offset + seed) * 0x9E3779B97F4A7C15L;
        return (byte) (x >>> 56 ^ offset);
    }
}
