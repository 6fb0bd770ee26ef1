package io.sanswitch.itests;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for tests that choose a port first and bind it later. The same rule as the conformance kit's
 * {@code io.sanswitch.conformance.Ports}, which is no bundle and so cannot reach the test classes inside
 * the Felix container.
 * <p>
 * A port from {@code new ServerSocket(0)} lies in the kernel's ephemeral range: once the probe is closed,
 * any outgoing TCP connection on the machine may get it as its local port, and the later bind fails with
 * "address already in use" (also for a minute after that connection closed: TIME_WAIT). A port below that
 * range ({@code /proc/sys/net/ipv4/ip_local_port_range}) is never an outgoing connection's local port; only
 * another test choosing the same random port can race us.
 */
final class FreePorts {
    private static final int FLOOR = 10_000;
    private static final int DEFAULT_EPHEMERAL_LOW = 32_768;
    private static final int ATTEMPTS = 100;

    private FreePorts() {
    }

    /** A port below the ephemeral range, free on {@code address} right now. */
    static int free(InetAddress address) {
        return freeRun(address, 1);
    }

    /** The first of {@code span} consecutive such ports, all free on {@code address} right now. */
    static int freeRun(InetAddress address, int span) {
        int bound = ephemeralLow() - span;
        if (span < 1 || bound <= FLOOR) {
            throw new IllegalStateException("no room for " + span + " port(s) between " + FLOOR
                    + " and the ephemeral range starting at " + ephemeralLow());
        }
        IOException last = null;
        for (int i = 0; i < ATTEMPTS; i++) {
            int first = ThreadLocalRandom.current().nextInt(FLOOR, bound);
            List<ServerSocket> held = new ArrayList<>(span);
            try {
                for (int port = first; port < first + span; port++) {
                    held.add(new ServerSocket(port, 1, address));
                }
                return first;
            } catch (IOException busy) {
                last = busy;
            } finally {
                for (ServerSocket s : held) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // a probe that never accepted leaves nothing behind
                    }
                }
            }
        }
        throw new IllegalStateException("no run of " + span + " free port(s) on " + address + " below "
                + ephemeralLow() + " after " + ATTEMPTS + " attempts; last: " + last.getMessage(), last);
    }

    /** The low end of the kernel's ephemeral range, or Linux's default when it cannot be read. */
    private static int ephemeralLow() {
        try {
            String[] parts = new String(Files.readAllBytes(Path.of("/proc/sys/net/ipv4/ip_local_port_range")),
                    StandardCharsets.US_ASCII).trim().split("\\s+");
            if (parts.length != 2) {
                return DEFAULT_EPHEMERAL_LOW;
            }
            int low = Integer.parseInt(parts[0]);
            int high = Integer.parseInt(parts[1]);
            return low >= 1 && low <= high && high <= 0xFFFF ? low : DEFAULT_EPHEMERAL_LOW;
        } catch (IOException | NumberFormatException | SecurityException unreadable) {
            return DEFAULT_EPHEMERAL_LOW;
        }
    }
}
