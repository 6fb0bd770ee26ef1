package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * {@link WorkerAddressFormat} against real addresses of live workers (UCX's choice of transports,
 * TCP only, shared memory only, and with the debug name) and against malformed ones: every
 * truncation, trailing bytes, lying length fields, random bytes, the case from the issue, too
 * long an address, and a loaded UCX of another version. Mutations the check lets through are
 * given to the real UCX in {@link WorkerAddressFuzzTest}.
 */
class WorkerAddressFormatTest {
    static final List<String> CONFIGS = LiveWorkers.CONFIGS;
    private static LiveWorkers live;
    private static Map<String, byte[]> addresses;

    @BeforeAll
    static void openWorkers() {
        live = new LiveWorkers();
        addresses = live.addresses();
        addresses.forEach((config, a) -> System.out.println("[address " + config + "] " + a.length + " bytes "
                + HexFormat.of().formatHex(a) + " " + WorkerAddressFormat.check(a)));
    }

    @AfterAll
    static void closeWorkers() {
        if (live != null) {
            live.close();
        }
    }

    private static String rejection(byte[] address) {
        return assertThrows(WorkerAddressFormat.MalformedAddress.class, () -> WorkerAddressFormat.check(address),
                () -> "accepted " + HexFormat.of().formatHex(address)).getMessage();
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("CONFIGS")
    void realAddressesOfLiveWorkersAreAccepted(String config) {
        byte[] address = addresses.get(config);
        List<String> transports = WorkerAddressFormat.check(address);
        assertFalse(transports.isEmpty(), config + ": no interface in " + HexFormat.of().formatHex(address));
        Set<String> sharedMemory = Set.of("self", "sysv", "posix", "cma");
        switch (config) {
            case "tcp" -> assertTrue(transports.stream().allMatch("tcp"::equals), "UCX_TLS=tcp: " + transports);
            case "sm" -> assertTrue(sharedMemory.containsAll(transports)
                    && (transports.contains("posix") || transports.contains("sysv")), "UCX_TLS=sm: " + transports);
            default -> assertTrue(transports.contains("tcp") && transports.stream().anyMatch(sharedMemory::contains),
                    config + ": " + transports);
        }
        // Every entry's transport is known here: the checksum (ucs_crc16_string) is UCX's own.
        assertTrue(transports.stream().noneMatch(t -> t.startsWith("unknown")), config + ": " + transports);
        boolean debugInfo = ((address[0] >>> 4) & 1) != 0;
        assertEquals(config.equals("debug-info"), debugInfo, config + ": header 0x" + Integer.toHexString(address[0] & 0xFF));
    }

    @Test
    void theLoadedUcxIsTheReleaseWhoseFormatIsChecked() {
        int v = UcxNative.ucpVersion();
        assertEquals(WorkerAddressFormat.KNOWN_MAJOR + "." + WorkerAddressFormat.KNOWN_MINOR, (v >>> 16) + "." + ((v >>> 8) & 0xFF));
    }

    @Test
    void anotherUcxReleaseOrUnifiedModeRefusesEveryAddress() {
        byte[] valid = addresses.get("default");
        assertFalse(WorkerAddressFormat.check(valid, "1.13.1", false).isEmpty());
        String other = assertThrows(WorkerAddressFormat.MalformedAddress.class,
                () -> WorkerAddressFormat.check(valid, "1.14.0", false)).getMessage();
        assertTrue(other.contains("1.14.0") && other.contains("1.13"), other);
        assertThrows(WorkerAddressFormat.MalformedAddress.class, () -> WorkerAddressFormat.check(valid, "unknown", false));
        String unified = assertThrows(WorkerAddressFormat.MalformedAddress.class,
                () -> WorkerAddressFormat.check(valid, "1.13.1", true)).getMessage();
        assertTrue(unified.contains("UNIFIED_MODE"), unified);
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("CONFIGS")
    void everyTruncationIsRejected(String config) {
        List<byte[]> cut = AddressMutations.truncations(addresses.get(config));
        cut.forEach(WorkerAddressFormatTest::rejection);
        assertEquals(addresses.get(config).length, cut.size());
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("CONFIGS")
    void trailingBytesAreRejected(String config) {
        byte[] valid = addresses.get(config);
        for (int extra : new int[] {0x00, 0xFF, 0x80, 0x13}) {
            byte[] longer = Arrays.copyOf(valid, valid.length + 1);
            longer[valid.length] = (byte) extra;
            assertTrue(rejection(longer).contains("after the end"));
        }
    }

    /**
     * A lie is never taken as such (a field mis-sized in place): it is rejected, or the bytes
     * happen to read as another well-formed address with a different layout (such ones go to the
     * real UCX in {@link WorkerAddressFuzzTest}, which lies about the same addresses).
     */
    @ParameterizedTest(name = "{0}")
    @FieldSource("CONFIGS")
    void lyingLengthFieldsAreRejected(String config) {
        byte[] valid = addresses.get(config);
        Map<Integer, Integer> layout = WorkerAddressFormat.lengthFields(valid);
        // The device's and each interface's address length (and the name's with debug-info).
        assertTrue(layout.size() >= 2, config + ": " + layout);
        int rejected = 0;
        for (byte[] lie : AddressMutations.lengthLies(valid)) {
            try {
                WorkerAddressFormat.check(lie);
            } catch (WorkerAddressFormat.MalformedAddress expected) {
                rejected++;
                continue;
            }
            assertFalse(layout.equals(WorkerAddressFormat.lengthFields(lie)), "a lie accepted in place: " + HexFormat.of().formatHex(lie));
            System.out.println("[lie read as another address " + config + "] " + HexFormat.of().formatHex(lie));
        }
        System.out.println("[lies " + config + "] " + rejected + " of " + AddressMutations.lengthLies(valid).size() + " rejected");
        assertTrue(rejected > 0, config);
    }

    @Test
    void theIssuesAddressIsRejected() {
        // A correct prefix, then random bytes; the header said version 13 (UCX: address.c:1051 assertion).
        Random rnd = new Random(13);
        for (byte[] valid : addresses.values()) {
            for (int prefix = 1; prefix < valid.length; prefix++) {
                byte[] issue = Arrays.copyOf(valid, valid.length + rnd.nextInt(64));
                issue[0] = (byte) ((issue[0] & 0xF0) | 13);
                for (int i = prefix; i < issue.length; i++) {
                    issue[i] = (byte) rnd.nextInt(256);
                }
                assertTrue(rejection(issue).contains("address version 13"));
            }
        }
    }

    @Test
    void randomBytesAreRejected() {
        Random rnd = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            byte[] junk = new byte[rnd.nextInt(600)];
            rnd.nextBytes(junk);
            rejection(junk);
        }
    }

    @Test
    void anAddressLongerThanTheBoundIsRejectedBeforeItIsRead() {
        byte[] valid = addresses.get("default");
        byte[] huge = Arrays.copyOf(valid, WorkerAddressFormat.MAX_BYTES + 1);
        assertTrue(rejection(huge).contains("more than " + WorkerAddressFormat.MAX_BYTES));
        assertTrue(rejection(new byte[0]).contains("header"));
        assertThrows(WorkerAddressFormat.MalformedAddress.class, () -> WorkerAddressFormat.check(null));
    }

    @Test
    void theTransportChecksumIsUcxs() {
        // ucs_crc16_string("tcp"), as UCX 1.13 packs it (little-endian) in the addresses above.
        assertEquals(0x19CF, WorkerAddressFormat.crc16("tcp"));
    }
}
