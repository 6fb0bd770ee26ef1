package io.sanswitch.core.switcher;

import io.sanswitch.testing.FuzzBudget;
import io.sanswitch.testing.Generator;
import io.sanswitch.testing.Property;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.RdmaBufferDescriptor;

/**
 * Properties of the switch's frame codec ({@link Frames#decode}, {@link Frame#writeTo}, {@link FrameReader}):
 * whatever bytes a peer sends, decoding gives a frame, "need more" or a protocol violation, never
 * another exception, and nothing it returns makes the connection allocate above the bounds
 * ({@link Frame#allocation()}, checked against {@link Frames#MAX_DATA} and {@link Frames#MAX_BLOCK});
 * every frame survives encode and decode, also split into arbitrary receives.
 *
 * <p>CI runs the tries each test names (a few seconds). {@code -Dfuzz.minutes=N} runs the same
 * properties for about N minutes in all ({@link FuzzBudget}), e.g.
 * {@code mvn -pl core-bundle -am test -Dtest=FramesPropertiesTest -Dsurefire.failIfNoSpecifiedTests=false -Dfuzz.minutes=10};
 * a failure names its seed, {@code -Dfuzz.seed=S} repeats it ({@link Property}).
 */
class FramesPropertiesTest {
    private static final byte[] TYPES = {Frames.DATA, Frames.BLOCK, Frames.DONE, Frames.HELLO, Frames.WRITE_REQ,
        Frames.WRITE_TARGET, Frames.WRITE_DONE, Frames.RESET, Frames.SESSION, Frames.ACK, Frames.CREDIT};

    @Test
    void everyFrameRoundTrips() {
        Property.forAll("every frame round-trips", 400, frames(Frames.MAX_DATA), f -> {
            ByteBuffer wire = Frames.encode(f);
            assertEquals(f.size(), wire.remaining());
            assertTrue(f.size() <= Frames.MAX_FRAME, "no frame is longer than a send buffer: " + f.size());
            Frames.Decoded d = Frames.decode(wire);
            assertEquals(f, d);
            assertFalse(wire.hasRemaining(), "exactly the frame was consumed");
        });
    }

    @Test
    void arbitraryBytesGiveFramesThenNeedMoreOrAViolation() {
        Property.forAll("arbitrary bytes give frames, then NEED_MORE or a violation", 2000, noise(),
                Property.shorterBytes(0), bytes -> {
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
                });
    }

    /** Valid frames and the sizes of the receives that deliver them (used in turn). */
    private record Split(List<Frame> frames, List<Integer> receives) {
    }

    @Test
    void aValidStreamSplitIntoArbitraryReceivesDecodesToTheSameFrames() {
        Generator<List<Frame>> streams = Generator.lists(frames(Frames.MAX_DATA), 1, 24);
        Generator<List<Integer>> receiveSizes = Generator.lists(Generator.oneOf(Generator.ints(1, 16),
                Generator.ints(1, Connection.BUFFER_BYTES), Generator.constant(Connection.BUFFER_BYTES)), 1, 8);
        Generator<Split> splits = random -> new Split(streams.next(random), receiveSizes.next(random));
        Property.forAll("a valid stream split into arbitrary receives decodes to the same frames", 200, splits, split -> {
            List<Frame> frames = split.frames();
            List<Integer> receives = split.receives();
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
        });
    }

    /** A valid frame, the value written into one of its fields, and which field (modulo their number). */
    private record Mutation(Frame frame, int value, int which) {
    }

    @Test
    void aMutatedLengthOrIdIsAViolationOutsideItsBoundAndDecodesWithinItOtherwise() {
        Generator<Frame> frames = frames(Frames.MAX_DATA);
        Generator<Integer> values = fieldValues();
        Generator<Integer> indexes = Generator.ints(0, 2);
        Generator<Mutation> mutations = random -> new Mutation(frames.next(random), values.next(random), indexes.next(random));
        Property.forAll("a mutated length or id is a violation outside its bound, decodes within it", 2000, mutations, m -> {
            List<Field> fields = fieldsOf(m.frame());
            if (fields.isEmpty()) {
                return; // RESET has no field
            }
            Field field = fields.get(m.which() % fields.size());
            ByteBuffer wire = Frames.encode(m.frame());
            long written = field.write(wire, m.value());
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
        });
    }

    /** A WRITE_TARGET's id and the descriptor length its header announces. */
    private record Announced(int dlen, int id) {
    }

    @Test
    void aDescriptorLengthIsOneToMaxDescriptorAndTheDescriptorIsCopiedExactly() {
        Generator<Integer> dlens = Generator.oneOf(Generator.ints(-1, Frames.MAX_DESCRIPTOR + 2), Generator.ints(0, 0xFFFF));
        Generator<Integer> ids = ids();
        Generator<Announced> announced = random -> new Announced(dlens.next(random), ids.next(random));
        Property.forAll("a descriptor length is 1..MAX_DESCRIPTOR and the descriptor is copied exactly", 300, announced, a -> {
            int dlen = a.dlen();
            byte[] descriptor = new byte[Math.max(0, Math.min(dlen, Frames.MAX_DESCRIPTOR))];
            for (int i = 0; i < descriptor.length; i++) {
                descriptor[i] = (byte) (i * 31 + 7);
            }
            ByteBuffer wire = ByteBuffer.allocate(Frames.WRITE_TARGET_HEADER + descriptor.length).put(Frames.WRITE_TARGET)
                    .putInt(a.id()).putShort((short) dlen).put(descriptor).flip();
            Frames.Decoded d = Frames.decode(wire);
            int unsigned = dlen & 0xFFFF;
            if (unsigned < 1 || unsigned > Frames.MAX_DESCRIPTOR) {
                assertInstanceOf(Frames.Violation.class, d, "descriptor of " + unsigned + " bytes");
            } else if (unsigned > descriptor.length) {
                assertEquals(Frames.NeedMore.NEED_MORE, d);
            } else {
                Frame.WriteTarget t = assertInstanceOf(Frame.WriteTarget.class, d);
                assertEquals(RdmaBufferDescriptor.of(Arrays.copyOf(descriptor, unsigned)), t.descriptor());
            }
        });
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
            return List.of(new Field("version", 1, 1, Frames.VERSION, Frames.VERSION), new Field("flags", 2, 1, 0, 7));
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
        } else if (f instanceof Frame.Credit) {
            return List.of(new Field("bytes", 1, 4, 1, CreditWindow.WINDOW));
        }
        return List.of();
    }

    // ------------------------------------------------------------------ generators

    /** Every kind of frame, as likely each, with DATA payloads of 1 … {@code maxData} bytes. */
    private static Generator<Frame> frames(int maxData) {
        Generator<RdmaBufferDescriptor> descriptors = Generator.bytes(1, Frames.MAX_DESCRIPTOR).map(RdmaBufferDescriptor::of);
        Generator<Integer> blockLengths = Generator.ints(1, Frames.MAX_BLOCK);
        Generator<Integer> ids = ids();
        return Generator.oneOf(
                Generator.of(true, false).map(Frame.Hello::new),
                Generator.bytes(1, maxData).map(b -> new Frame.Data(ByteBuffer.wrap(b))),
                random -> new Frame.Block(ids.next(random), blockLengths.next(random), descriptors.next(random)),
                ids.map(Frame.Done::new),
                random -> new Frame.WriteReq(ids.next(random), blockLengths.next(random)),
                random -> new Frame.WriteTarget(ids.next(random), descriptors.next(random)),
                ids.map(Frame.WriteDone::new),
                Generator.constant(new Frame.Reset()),
                random -> new Frame.Hello(random.nextBoolean(), random.nextBoolean(), random.nextBoolean()),
                random -> new Frame.Session(Generator.bytes(16, 16).next(random), Generator.bytes(32, 32).next(random),
                        Generator.ints(0, 65_535).next(random)),
                random -> new Frame.Ack(random.nextLong() & Long.MAX_VALUE),
                credits().map(Frame.Credit::new));
    }

    /** CREDIT values: any within the window, and its bounds. */
    private static Generator<Integer> credits() {
        return Generator.oneOf(Generator.ints(1, (int) CreditWindow.WINDOW), Generator.of(1, (int) CreditWindow.WINDOW));
    }

    private static Generator<Integer> ids() {
        return Generator.ints(1, Integer.MAX_VALUE);
    }

    /** Lengths and ids near the bounds (0, 1, -1, MIN/MAX int, each bound and its neighbours), small ones, and any int. */
    private static Generator<Integer> fieldValues() {
        return Generator.oneOf(Generator.anyInt(), Generator.ints(-2, 300), Generator.around(Frames.MAX_DATA),
                Generator.around(Frames.MAX_DESCRIPTOR), Generator.around(Frames.MAX_BLOCK), Generator.around((int) CreditWindow.WINDOW),
                Generator.of(Integer.MIN_VALUE, Integer.MAX_VALUE, 0xFFFF, 0x8000));
    }

    /**
     * Peer bytes: pure noise, or valid frames (small payloads) and garbage run together with some
     * bytes overwritten, so that the decoder gets deep into frames before it meets something wrong.
     */
    private static Generator<byte[]> noise() {
        Generator<byte[]> random = Generator.bytes(0, 64);
        Generator<byte[]> rests = Generator.bytes(0, 16);
        Generator<byte[]> typed = r -> prepend(TYPES[r.nextInt(TYPES.length)], rests.next(r));
        Generator<byte[]> valid = frames(64).map(f -> Frames.encode(f).array());
        Generator<List<byte[]>> parts = Generator.lists(Generator.oneOf(valid, valid, typed, random), 0, 12);
        Generator<byte[]> mixed = parts.map(list -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            list.forEach(p -> out.write(p, 0, p.length));
            return out.toByteArray();
        });
        Generator<List<Integer>> positions = Generator.lists(Generator.ints(0, 1 << 20), 0, 3);
        Generator<byte[]> flipped = r -> {
            byte[] b = mixed.next(r);
            byte v = (byte) r.nextInt();
            for (int i : positions.next(r)) {
                if (b.length > 0) {
                    b[i % b.length] = v;
                }
            }
            return b;
        };
        return Generator.oneOf(random, mixed, flipped);
    }

    private static byte[] prepend(byte first, byte[] rest) {
        byte[] out = new byte[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }
}
