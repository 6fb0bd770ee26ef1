package io.sanswitch.core.shell;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's memory at one moment, as {@code san:bench} reports it: resident and anonymous
 * resident bytes as Linux counts them ({@code /proc/self/status}; -1 where that is not there), and
 * the JVM's direct buffers not yet collected. Resident memory is what an operator sees; most of the
 * switch's native memory is direct buffers, which malloc keeps once the GC has freed them, so the
 * third figure tells whether what stays is still the JVM's or only the allocator's.
 */
record MemorySample(long residentBytes, long anonymousBytes, long directBytes) {
    static final Path STATUS = Path.of("/proc/self/status");
    /** /proc/self/status is about 1.5 KiB; more is not that file. */
    static final int MAX_STATUS_BYTES = 64 * 1024;

    static MemorySample now() {
        String status = readStatus();
        return new MemorySample(kibField(status, "VmRSS:"), kibField(status, "RssAnon:"), directBytesNow());
    }

    private static String readStatus() {
        if (!Files.isReadable(STATUS)) {
            return "";
        }
        try (InputStream in = Files.newInputStream(STATUS)) {
            return new String(in.readNBytes(MAX_STATUS_BYTES), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * The value of a {@code Name:   1234 kB} line in bytes; -1 when the line is missing or is not a
     * plain count of kB that fits a long.
     */
    static long kibField(String status, String name) {
        for (String line : status.split("\n", -1)) {
            if (!line.startsWith(name)) {
                continue;
            }
            String[] parts = line.substring(name.length()).trim().split("\\s+");
            if (parts.length != 2 || !parts[1].equals("kB") || parts[0].isEmpty() || parts[0].length() > 15
                    || !parts[0].chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                return -1;
            }
            return Long.parseLong(parts[0]) * 1024;
        }
        return -1;
    }

    private static long directBytesNow() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                return pool.getMemoryUsed();
            }
        }
        return -1;
    }
}
