package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import io.sanswitch.spi.RdmaBufferDescriptor;

/**
 * Properties of the switch's frame codec ({@link Frames#decode}, {@link Frame#writeTo}, {@link FrameReader}):
 * whatever bytes a peer sends, decoding gives a frame, "need more" or a protocol violation, never
 * another exception, and nothing it returns makes the connection allocate above the bounds
 * ({@link Frame#allocation()}, checked against {@link Frames#MAX_DATA} and {@link Frames#MAX_BLOCK});
 * every frame survives encode and decode, also split into arbitrary receives.
 *
 * <p>CI runs the tries in the annotations (a few seconds). {@code -Dfuzz.minutes=N} runs the same
 * properties for about N minutes in all ({@link FuzzBudget}), e.g.
 * {@code mvn -pl core-bundle -am test -Dtest=FramesPropertiesTest -Dsurefire.failIfNoSpecifiedTests=false -Dfuzz.minutes=10}.
 */
@AddLifecycleHook(FuzzBudget.class)
class FramesPropertiesTest {
    private static final byte[] TYPES = {Frames.DATA, Frames.BLOCK, Frames.DONE, Frames.HELLO, Frames.WRITE_REQ,
        Frames.WRITE_TARGET, Frames.WRITE_DONE, Frames.RESET};

    @Property(tries = 400)
    void everyFrameRoundTrips(@ForAll("frames") Frame f) {
        ByteBuffer wire = Frames.encode(f);
        assertEquals(f.size(), wire.remaining());
        assertTrue(f.size() <= Frames.MAX_FRAME, "no frame is longer than a send buffer: " + f.size());
        Frames.Decoded d = Frames.decode(wire);
        assertEquals(f, d);
        assertFalse(wire.hasRemaining(), "exactly the frame was consumed");
    }

    @Property(tries = 2000)
    void arbitraryBytesGiveFramesThenNeedMoreOrAViolation(@ForAll("noise") byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        Frames.Decoded end = drain(in);
        assertTrue(end instanceof Frames.NeedMore || end instanceof Frames.Violation, end::toString);
        if (end instanceof Frames.NeedMore) {
            // What waits is a frame whose lengths were checked: MAX_FRAME more bytes always finish it,
            // so the reader never buffers more than that for it.
            ByteBuffer more = ByteBuffer.allocate(in.remaining() + Frames.MAX_FRAME).put(in);
            while (more.hasRemaining()) {
                more.put(Frames.RESET);
            }
            assertNotEquals(Frames.NeedMore.NEED_MORE, Frames.decode(more.flip()), "a frame longer than MAX_FRAME");
        }
    }

    @Property(tries = 200)
    void aValidStreamSplitIntoArbitraryReceivesDecodesToTheSameFrames(@ForAll("streams") List<Frame> frames,
            @ForAll("receiveSizes") List<Integer> receives) {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        for (Frame f : frames) {
            ByteBuffer b = Frames.encode(f);
            wire.write(b.array(), 0, b.remaining());
        }
        ByteBuffer stream = ByteBuffer.wrap(wire.toByteArray());
        FrameReader reader = new FrameReader(Connection.BUFFER_BYTES);
        int next = 0;
        for (int r = 0; stream.hasRemaining(); r++) {
            int n = Math.min(stream.remaining(), receives.get(r % receives.size()));
            ByteBuffer receive = stream.slice(stream.position(), n);
            stream.position(stream.position() + n);
            assertTrue(reader.add(receive), "a receive always fits after the frames before it were read");
            Frames.Decoded d;
            while ((d = reader.next()) instanceof Frame f) {
                assertEquals(frames.get(next++), f); // before the next add moves the bytes under a DATA view
            }
            assertEquals(Frames.NeedMore.NEED_MORE, d);
            assertTrue(reader.waiting() < Frames.MAX_FRAME, "only an incomplete frame waits: " + reader.waiting());
        }
        assertEquals(frames.size(), next);
        assertEquals(0, reader.waiting());
    }

    @Property(tries = 2000)
    void aMutatedLengthOrIdIsAViolationOutsideItsBoundAndDecodesWithinItOtherwise(@ForAll("frames") Frame f,
            @ForAll("fieldValues") int value, @ForAll("fieldIndexes") int which) {
        List<Field> fields = fieldsOf(f);
        if (fields.isEmpty()) {
            return; // RESET has no field
        }
        Field field = fields.get(which % fields.size());
        ByteBuffer wire = Frames.encode(f);
        long written = field.write(wire, value);
        Frames.Decoded d = Frames.decode(wire);
        if (written < field.min || written > field.max) {
            Frames.Violation v = assertInstanceOf(Frames.Violation.class, d, field + " = " + written);
            assertEquals(0, wire.position(), "a violation consumes nothing");
            assertFalse(v.reason().isEmpty());
        } else if (d instanceof Frame decoded) {
            withinBounds(decoded);
        } else {
            assertEquals(Frames.NeedMore.NEED_MORE, d, field + " = " + written);
        }
    }

    @Property(tries = 300)
    void aDescriptorLengthIsOneToMaxDescriptorAndTheDescriptorIsCopiedExactly(@ForAll("descriptorLengths") int dlen,
            @ForAll("ids") int id) {
        byte[] descriptor = new byte[Math.max(0, Math.min(dlen, Frames.MAX_DESCRIPTOR))];
        for (int i = 0; i < descriptor.length; i++) {
            descriptor[i] = (byte) (i * 31 + 7);
        }
        ByteBuffer wire = ByteBuffer.allocate(Frames.WRITE_TARGET_HEADER + descriptor.length).put(Frames.WRITE_TARGET)
                .putInt(id).putShort((short) dlen).put(descriptor).flip();
        Frames.Decoded d = Frames.decode(wire);
        int unsigned = dlen & 0xFFFF;
        if (unsigned < 1 || unsigned > Frames.MAX_DESCRIPTOR) {
            assertInstanceOf(Frames.Violation.class, d, "descriptor of " + unsigned + " bytes");
        } else if (unsigned > descriptor.length) {
            assertEquals(Frames.NeedMore.NEED_MORE, d);
        } else {
            Frame.WriteTarget t = assertInstanceOf(Frame.WriteTarget.class, d);
            assertEquals(RdmaBufferDescriptor.of(java.util.Arrays.copyOf(descriptor, unsigned)), t.descriptor());
        }
    }

    // ------------------------------------------------------------------ checks

    /** Decodes frames until the input ends or breaks the protocol; checks each frame's bounds. */
    private static Frames.Decoded drain(ByteBuffer in) {
        while (true) {
            int before = in.position();
            Frames.Decoded d = Frames.decode(in);
            if (!(d instanceof Frame f)) {
                assertEquals(before, in.position(), "nothing consumed by " + d);
                return d;
            }
            assertEquals(before + f.size(), in.position(), "a frame consumes its size");
            withinBounds(f);
        }
    }

    private static void withinBounds(Frame f) {
        assertTrue(f.size() <= Frames.MAX_FRAME, f.size() + " bytes");
        long bound = f instanceof Frame.Data ? Frames.MAX_DATA
                : f instanceof Frame.Block || f instanceof Frame.WriteReq ? Frames.MAX_BLOCK : 0;
        assertTrue(f.allocation() <= bound, f + " would allocate " + f.allocation() + " > " + bound);
        if (bound > 0) {
            assertTrue(f.allocation() >= 1, f + " announces no bytes");
        }
        if (f instanceof Frame.Block b) {
            assertTrue(b.id() >= 1 && b.descriptor().length() <= Frames.MAX_DESCRIPTOR, f::toString);
        } else if (f instanceof Frame.WriteTarget t) {
            assertTrue(t.id() >= 1 && t.descriptor().length() <= Frames.MAX_DESCRIPTOR, f::toString);
        } else if (f instanceof Frame.WriteReq w) {
            assertTrue(w.id() >= 1);
        } else if (f instanceof Frame.Done done) {
            assertTrue(done.id() >= 1);
        } else if (f instanceof Frame.WriteDone w) {
            assertTrue(w.id() >= 1);
        }
    }

    /** A length or id field of a frame on the wire and the values the protocol allows in it. */
    private record Field(String name, int offset, int width, long min, long max) {
        /** Writes {@code value} into the field; returns the value as the decoder reads it. */
        long write(ByteBuffer wire, int value) {
            switch (width) {
                case 1 -> wire.put(offset, (byte) value);
                case 2 -> wire.putShort(offset, (short) value);
                default -> wire.putInt(offset, value);
            }
            return width == 1 ? (byte) value : width == 2 ? value & 0xFFFF : value;
        }
    }

    private static List<Field> fieldsOf(Frame f) {
        Field id = new Field("id", 1, 4, 1, Integer.MAX_VALUE);
        Field blockLength = new Field("length", 5, 4, 1, Frames.MAX_BLOCK);
        if (f instanceof Frame.Hello) {
            return List.of(new Field("version", 1, 1, Frames.VERSION, Frames.VERSION), new Field("flags", 2, 1, 0, 1));
        } else if (f instanceof Frame.Data) {
            return List.of(new Field("length", 1, 4, 1, Frames.MAX_DATA));
        } else if (f instanceof Frame.Block) {
            return List.of(id, blockLength, new Field("dlen", 9, 2, 1, Frames.MAX_DESCRIPTOR));
        } else if (f instanceof Frame.WriteReq) {
            return List.of(id, blockLength);
        } else if (f instanceof Frame.WriteTarget) {
            return List.of(id, new Field("dlen", 5, 2, 1, Frames.MAX_DESCRIPTOR));
        } else if (f instanceof Frame.Done || f instanceof Frame.WriteDone) {
            return List.of(id);
        }
        return List.of();
    }

    // ------------------------------------------------------------------ generators

    @Provide
    Arbitrary<Frame> frames() {
        return frames(Frames.MAX_DATA);
    }

    private static Arbitrary<Frame> frames(int maxData) {
        Arbitrary<RdmaBufferDescriptor> descriptors = Arbitraries.bytes().array(byte[].class).ofMinSize(1)
                .ofMaxSize(Frames.MAX_DESCRIPTOR).map(RdmaBufferDescriptor::of);
        Arbitrary<Integer> blockLengths = Arbitraries.integers().between(1, Frames.MAX_BLOCK);
        return Arbitraries.oneOf(
                Arbitraries.of(true, false).map(Frame.Hello::new),
                Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(maxData)
                        .map(b -> new Frame.Data(ByteBuffer.wrap(b))),
                net.jqwik.api.Combinators.combine(ids(), blockLengths, descriptors).as(Frame.Block::new),
                ids().map(Frame.Done::new),
                net.jqwik.api.Combinators.combine(ids(), blockLengths).as(Frame.WriteReq::new),
                net.jqwik.api.Combinators.combine(ids(), descriptors).as(Frame.WriteTarget::new),
                ids().map(Frame.WriteDone::new),
                Arbitraries.just(new Frame.Reset()));
    }

    @Provide
    static Arbitrary<Integer> ids() {
        return Arbitraries.integers().between(1, Integer.MAX_VALUE);
    }

    @Provide
    Arbitrary<List<Frame>> streams() {
        return frames(Frames.MAX_DATA).list().ofMinSize(1).ofMaxSize(24);
    }

    @Provide
    Arbitrary<List<Integer>> receiveSizes() {
        return Arbitraries.oneOf(Arbitraries.integers().between(1, 16), Arbitraries.integers().between(1, Connection.BUFFER_BYTES),
                Arbitraries.just(Connection.BUFFER_BYTES)).list().ofMinSize(1).ofMaxSize(8);
    }

    /** Lengths and ids near the bounds, small ones, and any int. */
    @Provide
    Arbitrary<Integer> fieldValues() {
        return Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.integers().between(-2, 300),
                Arbitraries.integers().between(Frames.MAX_DATA - 2, Frames.MAX_DATA + 2),
                Arbitraries.integers().between(Frames.MAX_DESCRIPTOR - 2, Frames.MAX_DESCRIPTOR + 2),
                Arbitraries.integers().between(Frames.MAX_BLOCK - 2, Frames.MAX_BLOCK + 2),
                Arbitraries.of(Integer.MIN_VALUE, Integer.MAX_VALUE, 0xFFFF, 0x8000));
    }

    @Provide
    Arbitrary<Integer> fieldIndexes() {
        return Arbitraries.integers().between(0, 2);
    }

    @Provide
    Arbitrary<Integer> descriptorLengths() {
        return Arbitraries.oneOf(Arbitraries.integers().between(-1, Frames.MAX_DESCRIPTOR + 2),
                Arbitraries.integers().between(0, 0xFFFF));
    }

    /**
     * Peer bytes: pure noise, or valid frames (small payloads) and garbage run together with some
     * bytes overwritten, so that the decoder gets deep into frames before it meets something wrong.
     */
    @Provide
    Arbitrary<byte[]> noise() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
        Arbitrary<byte[]> typed = Arbitraries.of(toObjects(TYPES)).flatMap(t -> Arbitraries.bytes().array(byte[].class)
                .ofMaxSize(16).map(rest -> prepend(t, rest)));
        Arbitrary<byte[]> valid = frames(64).map(f -> Frames.encode(f).array());
        Arbitrary<byte[]> mixed = Arbitraries.oneOf(valid, valid, typed, random).list().ofMaxSize(12).map(parts -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            parts.forEach(p -> out.write(p, 0, p.length));
            return out.toByteArray();
        });
        Arbitrary<byte[]> flipped = net.jqwik.api.Combinators.combine(mixed, Arbitraries.integers().between(0, 1 << 20)
                .list().ofMaxSize(3), Arbitraries.bytes()).as((b, at, v) -> {
                    for (int i : at) {
                        if (b.length > 0) {
                            b[i % b.length] = v;
                        }
                    }
                    return b;
                });
        return Arbitraries.oneOf(random, mixed, flipped);
    }

    private static Byte[] toObjects(byte[] bytes) {
        Byte[] out = new Byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = bytes[i];
        }
        return out;
    }

    private static byte[] prepend(byte first, byte[] rest) {
        byte[] out = new byte[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }
}
