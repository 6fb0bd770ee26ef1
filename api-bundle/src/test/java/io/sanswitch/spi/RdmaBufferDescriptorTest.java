package io.sanswitch.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A descriptor comes from the peer: its length is bounded before anything is copied. */
class RdmaBufferDescriptorTest {

    @Test
    void aDescriptorIsOneToMaxBytesLong() {
        assertEquals(RdmaBufferDescriptor.MAX_BYTES, RdmaBufferDescriptor.of(new byte[RdmaBufferDescriptor.MAX_BYTES]).length());
        assertEquals(1, RdmaBufferDescriptor.of(new byte[1]).length());
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                () -> RdmaBufferDescriptor.of(new byte[RdmaBufferDescriptor.MAX_BYTES + 1]));
        assertTrue(tooLong.getMessage().contains(String.valueOf(RdmaBufferDescriptor.MAX_BYTES + 1)), tooLong.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RdmaBufferDescriptor.of(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> RdmaBufferDescriptor.of(null));
    }
}
