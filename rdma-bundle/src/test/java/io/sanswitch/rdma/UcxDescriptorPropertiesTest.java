package io.sanswitch.rdma;

import io.sanswitch.testing.FuzzBudget;
import io.sanswitch.testing.Generator;
import io.sanswitch.testing.Property;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.RdmaBufferDescriptor;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * Properties of the UCX backend's descriptor decoder ({@link UcxRegion.Descriptor#decode}), which
 * reads the descriptors a peer sends in BLOCK and WRITE_TARGET frames: any bytes a descriptor can
 * hold (1 … {@link RdmaBufferDescriptor#MAX_BYTES}) decode or are refused with {@code WSAEINVAL},
 * never another exception; the packed key it copies is no longer than the descriptor; and a
 * decoded descriptor's range check never lets a transfer leave the buffer, whatever the offset and
 * size (no overflow). Encode then decode gives the same fields.
 *
 * <p>CI runs the tries each test names. {@code -Dfuzz.minutes=N} runs the same properties for
 * about N minutes in all ({@link FuzzBudget}); a failure names its seed, {@code -Dfuzz.seed=S}
 * repeats it ({@link Property}).
 */
class UcxDescriptorPropertiesTest {
    private static final int MAX_KEY = RdmaBufferDescriptor.MAX_BYTES - UcxRegion.Descriptor.OVERHEAD;
    /** The two sides of a made-up connection: one seals descriptors, the other verifies them. */
    private static final DescriptorSeal EXPOSER = DescriptorSeal.of(new byte[32], true);
    private static final DescriptorSeal INITIATOR = DescriptorSeal.of(new byte[32], false);

    @Test
    void anyDescriptorBytesDecodeOrAreRefusedAsInvalid() {
        Property.forAll("any descriptor bytes decode or are refused as invalid", 2000, descriptorBytes(),
                Property.shorterBytes(1), bytes -> {
                    RdmaBufferDescriptor d = RdmaBufferDescriptor.of(bytes);
                    try {
                        UcxRegion.Descriptor decoded = UcxRegion.Descriptor.decode(d, INITIATOR);
                        assertTrue(decoded.length() > 0 && decoded.access() >= 1 && decoded.access() <= 3, decoded::toString);
                        assertEquals(bytes.length - UcxRegion.Descriptor.OVERHEAD, decoded.packedKey().capacity(),
                                "the key copied is the descriptor's rest, no more");
                    } catch (WsaException e) {
                        assertEquals(WsaError.WSAEINVAL, e.error(), e::getMessage);
                    }
                });
    }

    /** A buffer's length and a transfer's offset and size in it. */
    private record Transfer(long length, long offset, long size) {
    }

    @Test
    void theRangeCheckKeepsEveryTransferInsideTheBuffer() {
        Generator<Long> lengths = lengths();
        Generator<Long> offsets = offsets();
        Generator<Transfer> transfers = random -> new Transfer(lengths.next(random), offsets.next(random), offsets.next(random));
        Property.forAll("the range check keeps every transfer inside the buffer", 2000, transfers, t -> {
            long length = t.length();
            long offset = t.offset();
            long size = t.size();
            UcxRegion.Descriptor d = new UcxRegion.Descriptor(1, 0x1000, length, 3, ByteBuffer.allocateDirect(1));
            try {
                d.checkRange(offset, size);
                assertTrue(offset >= 0 && size >= 0 && offset <= length && size <= length - offset,
                        "[" + offset + ", +" + size + ") accepted in " + length);
            } catch (WsaException e) {
                assertEquals(WsaError.WSAEINVAL, e.error());
                assertTrue(offset < 0 || size < 0 || offset > length || size > length - offset, e::getMessage);
            }
        });
    }

    /** The fields a descriptor carries. */
    private record Fields(long address, long length, int access, byte[] key) {
    }

    @Test
    void encodeThenDecodeGivesTheSameFields() {
        Generator<Long> addresses = Generator.anyLong();
        Generator<Long> lengths = lengths();
        Generator<Integer> access = Generator.ints(1, 3);
        Generator<byte[]> keys = UcxDescriptorPropertiesTest::packedKey;
        Generator<Fields> fields = random -> new Fields(addresses.next(random), lengths.next(random), access.next(random),
                keys.next(random));
        Property.forAll("encode then decode gives the same fields", 500, fields, f -> {
            RdmaBufferDescriptor d = UcxRegion.Descriptor.encode(EXPOSER, 7, f.address(), f.length(), f.access(),
                    ByteBuffer.wrap(f.key()));
            UcxRegion.Descriptor back = UcxRegion.Descriptor.decode(d, INITIATOR);
            assertEquals(7, back.exposure());
            assertEquals(f.address(), back.address());
            assertEquals(f.length(), back.length());
            assertEquals(f.access(), back.access());
            assertEquals(ByteBuffer.wrap(f.key()), back.packedKey());
        });
    }

    /** A key laid out as ucp_rkey_pack writes one (PackedRemoteKey): md_map, host memory, a sized key per domain. */
    private static byte[] packedKey(java.util.Random random) {
        long wanted = random.nextLong() & random.nextLong() & random.nextLong(); // a few domains
        java.io.ByteArrayOutputStream parts = new java.io.ByteArrayOutputStream();
        long mdMap = 0;
        for (int domain = 0; domain < Long.SIZE; domain++) {
            byte[] part = new byte[random.nextInt(random.nextBoolean() ? 16 : 256)];
            if ((wanted & (1L << domain)) != 0 && 9 + parts.size() + 1 + part.length <= MAX_KEY) {
                random.nextBytes(part);
                parts.write(part.length);
                parts.writeBytes(part);
                mdMap |= 1L << domain;
            }
        }
        return ByteBuffer.allocate(9 + parts.size()).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(mdMap)
                .put((byte) PackedRemoteKey.HOST_MEMORY).put(parts.toByteArray()).array();
    }

    /**
     * Any descriptor bytes, or mostly well-formed headers with arbitrary fields (often near the
     * valid ones), so decoding gets past the magic number and sometimes past the field checks.
     */
    private static Generator<byte[]> descriptorBytes() {
        Generator<byte[]> any = Generator.bytes(1, RdmaBufferDescriptor.MAX_BYTES);
        Generator<Long> longs = Generator.anyLong();
        Generator<Long> lengths = Generator.oneOf(Generator.anyLong(), Generator.longs(-2, 1 << 20));
        Generator<Integer> access = Generator.oneOf(Generator.anyInt(), Generator.ints(-1, 4));
        Generator<byte[]> keys = Generator.bytes(0, MAX_KEY);
        Generator<byte[]> headed = random -> {
            long exposure = longs.next(random);
            long address = longs.next(random);
            long length = lengths.next(random);
            int rights = access.next(random);
            byte[] key = keys.next(random);
            int body = UcxRegion.Descriptor.HEADER + key.length;
            ByteBuffer out = ByteBuffer.allocate(body + DescriptorSeal.BYTES).putInt(UcxRegion.Descriptor.MAGIC)
                    .putLong(exposure).putLong(address).putLong(length).putInt(rights).put(key);
            // Mostly sealed as the peer seals, so decoding gets past the seal to the fields.
            DescriptorSeal sealer = random.nextInt(4) == 0 ? INITIATOR : EXPOSER;
            return out.put(sealer.seal(out.array(), body)).array();
        };
        return Generator.oneOf(any, headed, headed);
    }

    private static Generator<Long> lengths() {
        return Generator.oneOf(Generator.longs(1, Long.MAX_VALUE), Generator.longs(1, 1 << 20));
    }

    /** Any long, small ones around 0, and the ends where offset + size overflows. */
    private static Generator<Long> offsets() {
        return Generator.oneOf(Generator.anyLong(), Generator.longs(-2, 1 << 20),
                Generator.of(Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 1));
    }
}
