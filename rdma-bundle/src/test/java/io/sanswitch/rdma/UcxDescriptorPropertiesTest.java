package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;

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
 * <p>CI runs the tries in the annotations. {@code -Dfuzz.minutes=N} runs the same properties for
 * about N minutes in all ({@link FuzzBudget}).
 */
@AddLifecycleHook(FuzzBudget.class)
class UcxDescriptorPropertiesTest {

    @Property(tries = 2000)
    void anyDescriptorBytesDecodeOrAreRefusedAsInvalid(@ForAll("descriptorBytes") byte[] bytes) {
        RdmaBufferDescriptor d = RdmaBufferDescriptor.of(bytes);
        try {
            UcxRegion.Descriptor decoded = UcxRegion.Descriptor.decode(d);
            assertTrue(decoded.length() > 0 && decoded.access() >= 1 && decoded.access() <= 3, decoded::toString);
            assertEquals(bytes.length - UcxRegion.Descriptor.HEADER, decoded.packedKey().capacity(),
                    "the key copied is the descriptor's rest, no more");
        } catch (WsaException e) {
            assertEquals(WsaError.WSAEINVAL, e.error(), e::getMessage);
        }
    }

    @Property(tries = 2000)
    void theRangeCheckKeepsEveryTransferInsideTheBuffer(@ForAll("lengths") long length, @ForAll("offsets") long offset,
            @ForAll("offsets") long size) {
        UcxRegion.Descriptor d = new UcxRegion.Descriptor(0x1000, length, 3, ByteBuffer.allocateDirect(1));
        try {
            d.checkRange(offset, size);
            assertTrue(offset >= 0 && size >= 0 && offset <= length && size <= length - offset,
                    "[" + offset + ", +" + size + ") accepted in " + length);
        } catch (WsaException e) {
            assertEquals(WsaError.WSAEINVAL, e.error());
            assertTrue(offset < 0 || size < 0 || offset > length || size > length - offset, e::getMessage);
        }
    }

    @Property(tries = 500)
    void encodeThenDecodeGivesTheSameFields(@ForAll long address, @ForAll("lengths") long length,
            @ForAll("access") int access, @ForAll("keys") byte[] key) throws WsaException {
        RdmaBufferDescriptor d = UcxRegion.Descriptor.encode(address, length, access, ByteBuffer.wrap(key));
        UcxRegion.Descriptor back = UcxRegion.Descriptor.decode(d);
        assertEquals(address, back.address());
        assertEquals(length, back.length());
        assertEquals(access, back.access());
        assertEquals(ByteBuffer.wrap(key), back.packedKey());
    }

    @Provide
    Arbitrary<byte[]> descriptorBytes() {
        Arbitrary<byte[]> any = Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(RdmaBufferDescriptor.MAX_BYTES);
        // Mostly well-formed headers with arbitrary fields, so decoding gets past the magic number.
        Arbitrary<byte[]> headed = Combinators.combine(Arbitraries.longs(), Arbitraries.longs(), Arbitraries.integers(),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(RdmaBufferDescriptor.MAX_BYTES - UcxRegion.Descriptor.HEADER))
                .as((address, length, access, key) -> ByteBuffer.allocate(UcxRegion.Descriptor.HEADER + key.length)
                        .putInt(UcxRegion.Descriptor.MAGIC).putLong(address).putLong(length).putInt(access).put(key).array());
        return Arbitraries.oneOf(any, headed, headed);
    }

    @Provide
    Arbitrary<Long> lengths() {
        return Arbitraries.oneOf(Arbitraries.longs().between(1, Long.MAX_VALUE), Arbitraries.longs().between(1, 1 << 20));
    }

    @Provide
    Arbitrary<Long> offsets() {
        return Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.longs().between(-2, 1 << 20),
                Arbitraries.of(Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 1));
    }

    @Provide
    Arbitrary<Integer> access() {
        return Arbitraries.integers().between(1, 3);
    }

    @Provide
    Arbitrary<byte[]> keys() {
        return Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(RdmaBufferDescriptor.MAX_BYTES - UcxRegion.Descriptor.HEADER);
    }
}
