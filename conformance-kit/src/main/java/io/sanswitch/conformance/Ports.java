package io.sanswitch.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for tests that choose a port first and bind it later (often again and again, or in another
 * process).
 * <p>
 * The usual probe, {@code new ServerSocket(0)}, hands out a port of the kernel's ephemeral range. Once the
 * probe is closed, any outgoing TCP connection on the machine (UCX's TCP lanes, other tests, the build tool)
 * may get that very port as its local port, and the test's later bind fails with "address already in use";
 * it keeps failing for a minute after such a connection is closed, as its end lingers in TIME_WAIT.
 * A port <em>below</em> the ephemeral range ({@code /proc/sys/net/ipv4/ip_local_port_range}) is never taken
 * as the local port of an outgoing connection, so between the check here and the test's bind it can only be
 * taken by another test that chose the same random port, which is rare.
 */
public final class Ports {
    /** Lowest port handed out: below lie the well-known and most registered service ports. */
    static final int FLOOR = 10_000;
    /** Used when the kernel's range cannot be read (Linux's default; other systems' ranges start higher). */
    static final int DEFAULT_EPHEMERAL_LOW = 32_768;
    static final int ATTEMPTS = 100;
    private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

    private Ports() {
    }

    /** A port below the ephemeral range, free on {@code address} right now. */
    public static int free(InetAddress address) {
        return freeRun(address, 1);
    }

    /** {@link #free(InetAddress)} together with its address. */
    public static InetSocketAddress freeAddress(InetAddress address) {
        return new InetSocketAddress(address, free(address));
    }

    /** A port on the loopback address, see {@link #free(InetAddress)}. */
    public static InetSocketAddress freeLoopback() {
        return freeAddress(InetAddress.getLoopbackAddress());
    }

    /**
     * The first of {@code span} consecutive ports below the ephemeral range, all free on {@code address}
     * right now (e.g. span 2 for a switch that listens on P and on P + its RDMA port offset 1).
     */
    public static int freeRun(InetAddress address, int span) {
        return freeRun(address, span, ephemeralLow(EPHEMERAL_RANGE));
    }

    static int freeRun(InetAddress address, int span, int ephemeralLow) {
        if (span < 1) {
            throw new IllegalArgumentException("span must be at least 1: " + span);
        }
        int bound = ephemeralLow - span; // first ports in [FLOOR, bound) keep the whole run below the range
        if (bound <= FLOOR) {
            throw new IllegalStateException("no room for " + span + " port(s) between " + FLOOR
                    + " and the ephemeral range starting at " + ephemeralLow);
        }
        IOException last = null;
        for (int i = 0; i < ATTEMPTS; i++) {
            int first = ThreadLocalRandom.current().nextInt(FLOOR, bound);
            try {
                checkFree(address, first, span);
                return first;
            } catch (IOException busy) {
                last = busy;
            }
        }
        throw new IllegalStateException("no run of " + span + " free port(s) on " + address + " in [" + FLOOR + ", "
                + ephemeralLow + ") after " + ATTEMPTS + " attempts; last: " + last.getMessage(), last);
    }

    /** Binds and listens on each port of the run, then closes them again; throws if one is taken. */
    static void checkFree(InetAddress address, int first, int span) throws IOException {
        List<ServerSocket> held = new ArrayList<>(span);
        try {
            for (int port = first; port < first + span; port++) {
                held.add(new ServerSocket(port, 1, address));
            }
        } catch (IOException e) {
            throw new IOException("port " + (first + held.size()) + " on " + address + ": " + e.getMessage(), e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing a listening probe that never accepted cannot leave anything behind
                }
            }
        }
    }

    /**
     * The low end of the kernel's ephemeral range from {@code file} ("low&lt;whitespace&gt;high"), or
     * {@link #DEFAULT_EPHEMERAL_LOW} if it is missing or not such a pair.
     */
    static int ephemeralLow(Path file) {
        String text;
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > 64) {
                return DEFAULT_EPHEMERAL_LOW;
            }
            text = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII).trim();
        } catch (IOException | UncheckedIOException | SecurityException e) {
            return DEFAULT_EPHEMERAL_LOW;
        }
        String[] parts = text.split("\\s+");
        if (parts.length != 2) {
            return DEFAULT_EPHEMERAL_LOW;
        }
        try {
            int low = Integer.parseInt(parts[0]);
            int high = Integer.parseInt(parts[1]);
            return low >= 1 && low <= high && high <= 0xFFFF ? low : DEFAULT_EPHEMERAL_LOW;
        } catch (NumberFormatException e) {
            return DEFAULT_EPHEMERAL_LOW;
        }
    }
}
