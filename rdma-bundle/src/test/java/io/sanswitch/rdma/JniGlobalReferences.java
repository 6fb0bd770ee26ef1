package io.sanswitch.rdma;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

import com.sun.management.HotSpotDiagnosticMXBean;

/**
 * Counts this JVM's JNI global references: a heap dump lists each one as a
 * {@code ROOT JNI GLOBAL} record (HPROF format, as HotSpot writes it), so the dump is taken and
 * those records counted. JNI code that forgets {@code DeleteGlobalRef} (a callback, an endpoint's
 * error handler) shows up here and nowhere else.
 */
final class JniGlobalReferences {
    private static final int HEAP_DUMP = 0x0C;
    private static final int HEAP_DUMP_SEGMENT = 0x1C;

    private JniGlobalReferences() {
    }

    /** Dumps the live heap and counts its JNI global roots. */
    static long count() throws IOException {
        Path dir = Files.createTempDirectory("jni-globals");
        Path dump = dir.resolve("heap.hprof");
        try {
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).dumpHeap(dump.toString(), true);
            return countIn(dump);
        } finally {
            Files.deleteIfExists(dump);
            Files.deleteIfExists(dir);
        }
    }

    static long countIn(Path hprof) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(hprof), 1 << 16))) {
            while (in.readByte() != 0) {
                // the format name ("JAVA PROFILE 1.0.2"), NUL-terminated
            }
            int idSize = in.readInt();
            in.readLong(); // timestamp
            long globals = 0;
            while (true) {
                int tag;
                try {
                    tag = in.readUnsignedByte();
                } catch (EOFException end) {
                    return globals;
                }
                in.readInt(); // time offset
                long length = Integer.toUnsignedLong(in.readInt());
                if (tag == HEAP_DUMP || tag == HEAP_DUMP_SEGMENT) {
                    globals += countInSegment(in, length, idSize);
                } else {
                    skip(in, length);
                }
            }
        }
    }

    private static long countInSegment(DataInputStream in, long length, int id) throws IOException {
        long globals = 0;
        long left = length;
        while (left > 0) {
            int sub = in.readUnsignedByte();
            long body = switch (sub) {
                case 0xFF, 0x05, 0x07 -> id; // unknown, sticky class, monitor used
                case 0x01 -> {
                    globals++;
                    yield 2L * id; // JNI global: object, global ref id
                }
                case 0x02, 0x03, 0x08 -> id + 8; // JNI local, Java frame, thread object
                case 0x04, 0x06 -> id + 4; // native stack, thread block
                case 0x20 -> classDump(in, id);
                case 0x21 -> {
                    skip(in, id + 4L + id);
                    int n = in.readInt();
                    skip(in, n);
                    yield -(id + 4L + id + 4 + n);
                }
                case 0x22 -> {
                    skip(in, id + 4L);
                    int n = in.readInt();
                    skip(in, id + (long) n * id);
                    yield -(id + 4L + 4 + id + (long) n * id);
                }
                case 0x23 -> {
                    skip(in, id + 4L);
                    int n = in.readInt();
                    int type = in.readUnsignedByte();
                    long bytes = (long) n * size(type, id);
                    skip(in, bytes);
                    yield -(id + 4L + 4 + 1 + bytes);
                }
                default -> throw new IOException("unknown heap dump record 0x" + Integer.toHexString(sub));
            };
            if (body >= 0) {
                skip(in, body);
                left -= 1 + body;
            } else {
                left -= 1 - body; // already consumed
            }
        }
        return globals;
    }

    /** Reads a class dump; returns minus the bytes consumed. */
    private static long classDump(DataInputStream in, int id) throws IOException {
        long used = id + 4L + 6L * id + 4;
        skip(in, used);
        int constants = in.readUnsignedShort();
        used += 2;
        for (int i = 0; i < constants; i++) {
            in.readUnsignedShort();
            int type = in.readUnsignedByte();
            int s = size(type, id);
            skip(in, s);
            used += 3 + s;
        }
        int statics = in.readUnsignedShort();
        used += 2;
        for (int i = 0; i < statics; i++) {
            skip(in, id);
            int type = in.readUnsignedByte();
            int s = size(type, id);
            skip(in, s);
            used += id + 1 + s;
        }
        int fields = in.readUnsignedShort();
        skip(in, (long) fields * (id + 1));
        used += 2 + (long) fields * (id + 1);
        return -used;
    }

    private static int size(int type, int id) throws IOException {
        return switch (type) {
            case 2 -> id;
            case 4, 8 -> 1;
            case 5, 9 -> 2;
            case 6, 10 -> 4;
            case 7, 11 -> 8;
            default -> throw new IOException("unknown basic type " + type);
        };
    }

    private static void skip(DataInputStream in, long n) throws IOException {
        long left = n;
        while (left > 0) {
            long s = in.skip(left);
            if (s <= 0) {
                in.readByte();
                s = 1;
            }
            left -= s;
        }
    }
}
