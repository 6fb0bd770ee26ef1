package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpMemMapParams;
import org.openucx.jucx.ucp.UcpMemory;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * A packed remote key from the peer (in an RDMA buffer descriptor) reaches UCX only if it is laid
 * out as UCX 1.13 packs one ({@link PackedRemoteKey}): real keys of real memory maps pass the
 * descriptor decode, the Java check and the library's own check and unpack in UCX; truncated,
 * extended, size-lying, wrongly typed, oversized and random keys are refused by the decode
 * (WSAEINVAL), by {@link UcxNative#unpackRemoteKey} and by the library itself
 * ({@link UcxNative#epRkeyUnpack}, called directly), all with UCX never reading them.
 */
class PackedRemoteKeyTest {
    private static final int RANDOM_KEYS = 1000;
    /** The two sides of a made-up connection: one seals descriptors, the other verifies them. */
    private static final DescriptorSeal EXPOSER = DescriptorSeal.of(new byte[32], true);
    private static final DescriptorSeal INITIATOR = DescriptorSeal.of(new byte[32], false);

    @Test
    void realKeysOfRealMemoryMapsAreAcceptedAndUnpack() throws Exception {
        try (UcxWorkerPair pair = UcxWorkerPair.open()) {
            List<byte[]> keys = realKeys(pair);
            for (byte[] key : keys) {
                assertNull(PackedRemoteKey.problem(key), () -> "a real key of " + key.length + " bytes");
                long unpacked = UcxNative.unpackRemoteKey(pair.endpoint, key);
                assertTrue(unpacked > 0, "UCX unpacks a real key: status " + unpacked);
                UcxNative.destroyRemoteKey(unpacked);
                UcxRegion.Descriptor d = UcxRegion.Descriptor.decode(UcxRegion.Descriptor.encode(EXPOSER, 1, 4096, 64, 3, ByteBuffer.wrap(key)), INITIATOR);
                assertEquals(key.length, d.packedKey().remaining(), "the key through a descriptor");
            }
        }
    }

    @Test
    void truncatedExtendedLyingWronglyTypedOversizedAndRandomKeysAreRefusedBeforeUcxReadsThem() throws Exception {
        try (UcxWorkerPair pair = UcxWorkerPair.open()) {
            Map<String, byte[]> bad = new LinkedHashMap<>();
            bad.put("empty", new byte[0]);
            bad.put("longer than any key", new byte[PackedRemoteKey.MAX_LENGTH + 1]);
            int n = 0;
            for (byte[] key : realKeys(pair)) {
                n++;
                for (int length = 0; length < key.length; length++) {
                    bad.put("key " + n + " cut to " + length + " bytes", Arrays.copyOf(key, length));
                }
                bad.put("key " + n + " with a byte more", Arrays.copyOf(key, key.length + 1));
                byte[] host = key.clone();
                host[Long.BYTES] = 1; // UCS_MEMORY_TYPE_CUDA
                bad.put("key " + n + " of another memory type", host);
                // The last domain's size only: one more or less there always breaks the sum. An earlier
                // size one more or less makes the walk read the next sizes from other bytes, which with
                // some keys (their bytes differ from run to run) happen to add up again: a well-formed
                // key then, which no validator can refuse (seen: "key 2 with the size at 10 one more").
                List<Integer> sizes = sizeBytes(key);
                for (int at : sizes.isEmpty() ? List.<Integer>of() : sizes.subList(sizes.size() - 1, sizes.size())) {
                    // Not where the byte wraps (255 + 1 = 0): that is another length, not one more or less.
                    if (key[at] != (byte) 0xFF) {
                        bad.put("key " + n + " with the size at " + at + " one more", withByte(key, at, key[at] + 1));
                    }
                    if (key[at] != 0) {
                        bad.put("key " + n + " with the size at " + at + " one less", withByte(key, at, key[at] - 1));
                    }
                }
            }
            Random random = new Random(8);
            for (int i = 0; i < RANDOM_KEYS; i++) {
                byte[] key = new byte[1 + random.nextInt(256)];
                random.nextBytes(key);
                bad.put("random key " + i, key);
            }

            assertEquals(UcxNative.INVALID_PARAM, UcxNative.unpackRemoteKey(pair.endpoint, null), "no key (Java)");
            assertEquals(UcxNative.INVALID_PARAM, UcxNative.epRkeyUnpack(pair.endpoint, null), "no key (library)");
            assertNotNull(PackedRemoteKey.problem(null));
            for (Map.Entry<String, byte[]> e : bad.entrySet()) {
                String what = e.getKey();
                byte[] key = e.getValue();
                assertNotNull(PackedRemoteKey.problem(key), what);
                assertEquals(UcxNative.INVALID_PARAM, UcxNative.unpackRemoteKey(pair.endpoint, key), what + " (Java)");
                assertEquals(UcxNative.INVALID_PARAM, UcxNative.epRkeyUnpack(pair.endpoint, key), what + " (library)");
                if (key.length + UcxRegion.Descriptor.OVERHEAD > io.sanswitch.spi.RdmaBufferDescriptor.MAX_BYTES) {
                    // No descriptor can even carry it (SEC-2: descriptors are bounded first).
                    assertThrows(IllegalArgumentException.class,
                            () -> UcxRegion.Descriptor.encode(EXPOSER, 1, 4096, 64, 3, ByteBuffer.wrap(key)), what);
                } else if (key.length > 0) {
                    WsaException refused = assertThrows(WsaException.class,
                            () -> UcxRegion.Descriptor.decode(UcxRegion.Descriptor.encode(EXPOSER, 1, 4096, 64, 3, ByteBuffer.wrap(key)), INITIATOR), what);
                    assertEquals(WsaError.WSAEINVAL, refused.error(), what);
                }
            }
        }
    }

    /**
     * Packed keys of memory the way the transport maps it (a direct buffer), and of memory UCX
     * allocates. The maps stay until the pair closes: a key of memory unmapped since fails to
     * unpack in a transport, and UCX 1.13 then crashes (README, "Known limits").
     */
    private static List<byte[]> realKeys(UcxWorkerPair pair) {
        List<byte[]> keys = new ArrayList<>();
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
        List<UcpMemory> maps = List.of(
                pair.context.memoryMap(new UcpMemMapParams().setAddress(UcxUtils.getAddress(buffer)).setLength(buffer.capacity())),
                pair.context.memoryMap(new UcpMemMapParams().allocate().setLength(4096)));
        for (UcpMemory m : maps) {
            ByteBuffer packed = m.getRemoteKeyBuffer();
            byte[] key = new byte[packed.remaining()];
            packed.get(key);
            keys.add(key);
            pair.onClose(m::deregister);
        }
        return keys;
    }

    /** Where a key's per-domain sizes are (the layout: md_map, memory type, then size + key per domain). */
    private static List<Integer> sizeBytes(byte[] key) {
        long mdMap = ByteBuffer.wrap(key, 0, Long.BYTES).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        List<Integer> at = new ArrayList<>();
        int p = Long.BYTES + 1;
        for (int i = 0; i < Long.bitCount(mdMap); i++) {
            at.add(p);
            p += 1 + (key[p] & 0xFF);
        }
        return at;
    }

    private static byte[] withByte(byte[] key, int at, int value) {
        byte[] copy = key.clone();
        copy[at] = (byte) value;
        return copy;
    }
}
