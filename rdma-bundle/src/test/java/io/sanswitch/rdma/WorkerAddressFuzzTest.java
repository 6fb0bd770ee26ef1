package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Whatever {@link WorkerAddressFormat} accepts, the real UCX survives: a child JVM (so that an
 * abort fails this test instead of the build) mutates the live addresses of this process's
 * workers and of its own (every truncation, every bit flip, every byte 0x00/0xFF, every length
 * lie, then random mutations), and runs each accepted one through {@code ucp_ep_create} and a
 * forced close, in a network namespace of its own ({@link IsolatedNetwork}).
 * {@code -Dfuzz.minutes=N} keeps the random part going for about N minutes.
 */
class WorkerAddressFuzzTest {
    private static final long MIN_INPUTS = 5_000;
    private static final Pattern RESULT = Pattern.compile(
            "FUZZ inputs=(\\d+) rejected=(\\d+) accepted=(\\d+) created=(\\d+) refusedByUcx=(\\d+) closed=(\\d+) pending=(\\d+).*");

    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES) // fuzz.minutes may ask for long runs
    void everyAddressTheCheckAcceptsIsSurvivedByUcx() throws Exception {
        // Accepted mutations reach ucp_ep_create: a changed byte in a transport address must not make
        // UCX reach some real host, so the child sees nothing but its own loopback.
        String noNamespace = IsolatedNetwork.unavailableBecause();
        org.junit.jupiter.api.Assumptions.assumeTrue(noNamespace == null, () -> "skipped: " + noNamespace);
        long minutes = Long.getLong("fuzz.minutes", 0);
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        try (LiveWorkers live = new LiveWorkers()) {
            Path bases = Files.createTempFile("worker-addresses", ".txt");
            try {
                List<String> lines = new ArrayList<>();
                live.addresses().forEach((config, a) -> lines.add(config + " " + HexFormat.of().formatHex(a)));
                Files.write(bases, lines);
                List<String> command = List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                        "-cp", System.getProperty("java.class.path"), WorkerAddressFuzzPeer.class.getName(), bases.toString(),
                        String.valueOf(seed), String.valueOf(MIN_INPUTS), String.valueOf(TimeUnit.MINUTES.toMillis(minutes)));
                ProcessBuilder pb = new ProcessBuilder(IsolatedNetwork.wrap(command)).redirectErrorStream(true);
                pb.environment().put("UCX_ERROR_SIGNALS", ""); // UCX's handlers stay out of the JVM
                // Thousands of refused endpoints: UCX's error lines would drown the result.
                pb.environment().put("UCX_LOG_LEVEL", "fatal");
                Process child = pb.start();
                List<String> output = new ArrayList<>();
                try (var r = child.inputReader()) {
                    for (String line; (line = r.readLine()) != null;) {
                        System.out.println("[fuzz] " + line);
                        output.add(line);
                    }
                }
                assertTrue(child.waitFor(5, TimeUnit.MINUTES), "the fuzz process ended");
                assertEquals(0, child.exitValue(), "the fuzz process (seed " + seed + ") exited cleanly; last lines: "
                        + output.subList(Math.max(0, output.size() - 20), output.size()));
                assertTrue(output.stream().anyMatch(l -> l.startsWith("HOOK refused") && l.contains("address version 13")),
                        "openEndpoint refused the issue's address: " + output);
                Matcher m = output.stream().map(RESULT::matcher).filter(Matcher::matches).findFirst()
                        .orElseThrow(() -> new AssertionError("no FUZZ line: " + output));
                long inputs = Long.parseLong(m.group(1));
                long accepted = Long.parseLong(m.group(3));
                long created = Long.parseLong(m.group(4));
                long refusedByUcx = Long.parseLong(m.group(5));
                long closed = Long.parseLong(m.group(6));
                assertTrue(inputs >= MIN_INPUTS, m.group());
                assertEquals(accepted, created + refusedByUcx, m.group());
                assertEquals(created, closed, "every endpoint created was closed: " + m.group());
                // The real addresses at least: UCX did build endpoints from what the check passed.
                assertTrue(created >= live.addresses().size() + 1, m.group());
                assertEquals(0, Long.parseLong(m.group(7)), "no request left pending: " + m.group());
            } finally {
                Files.deleteIfExists(bases);
            }
        }
    }
}
