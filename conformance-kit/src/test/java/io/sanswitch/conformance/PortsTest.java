package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PortsTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void aRunLiesBelowTheEphemeralRangeAndCanBeBoundAgain() throws IOException {
        int low = Ports.ephemeralLow(Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
        for (int i = 0; i < 20; i++) {
            int first = Ports.freeRun(LOOPBACK, 3);
            assertTrue(first >= Ports.FLOOR && first + 3 <= low, first + " not in [" + Ports.FLOOR + ", " + low + " - 3]");
            try (ServerSocket p0 = new ServerSocket(first, 1, LOOPBACK);
                    ServerSocket p1 = new ServerSocket(first + 1, 1, LOOPBACK);
                    ServerSocket p2 = new ServerSocket(first + 2, 1, LOOPBACK)) {
                assertEquals(first + 2, p2.getLocalPort());
            }
        }
    }

    @Test
    void aPortTakenAnywhereInTheRunIsNotFree() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, LOOPBACK)) {
            int port = taken.getLocalPort();
            IOException atStart = assertThrows(IOException.class, () -> Ports.checkFree(LOOPBACK, port, 1));
            assertTrue(atStart.getMessage().contains(String.valueOf(port)), atStart.getMessage());
            assertThrows(IOException.class, () -> Ports.checkFree(LOOPBACK, port - 1, 2));
        }
    }

    @Test
    void aCheckedRunIsReleasedAgain() throws IOException {
        int first = Ports.freeRun(LOOPBACK, 2);
        Ports.checkFree(LOOPBACK, first, 2);
        Ports.checkFree(LOOPBACK, first, 2); // the first check closed its probes
    }

    @Test
    void theKernelsRangeIsReadAndAnythingElseFallsBackToTheDefault(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("range");
        Files.writeString(file, "20000\t60999\n");
        assertEquals(20000, Ports.ephemeralLow(file));
        for (String bad : new String[] {"", "abc", "20000", "20000 10000", "0 100", "20000 70000", "1 2 3",
                "99999999999 1"}) {
            Files.writeString(file, bad);
            assertEquals(Ports.DEFAULT_EPHEMERAL_LOW, Ports.ephemeralLow(file), "for '" + bad + "'");
        }
        Files.writeString(file, "1".repeat(100_000));
        assertEquals(Ports.DEFAULT_EPHEMERAL_LOW, Ports.ephemeralLow(file), "oversized file");
        assertEquals(Ports.DEFAULT_EPHEMERAL_LOW, Ports.ephemeralLow(dir.resolve("missing")));
    }

    @Test
    void noRoomBelowTheRangeFailsNamingIt() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Ports.freeRun(LOOPBACK, 2, Ports.FLOOR + 2));
        assertTrue(e.getMessage().contains(String.valueOf(Ports.FLOOR + 2)), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Ports.freeRun(LOOPBACK, 0));
    }
}
