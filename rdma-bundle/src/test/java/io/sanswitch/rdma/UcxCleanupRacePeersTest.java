package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The race of {@link UcxCleanupRaceTest} with the two UCX providers in two processes on this host,
 * as deployed (one provider per JVM): pairs of {@link CleanupRacePeer} JVMs, one listening, one
 * connecting, both posting sends, receives and RDMA writes and reads, then their final cleanups
 * started at once ({@code -Ducx.cleanupRace.swap=both}), or only the connecting side's while the
 * listening side keeps its provider and its traffic going ({@code -Ducx.cleanupRace.swap=one}: its
 * peer's provider is hot-swapped). Each peer must end normally after every round, each operation
 * having ended exactly once.
 *
 * <p>Runs only when asked, like {@link UcxCleanupRaceTest} (docs/toolchain.md TC-22):
 * {@code -Ducx.cleanupRace.processes=2 -Ducx.cleanupRace.rounds=N}, optionally
 * {@code -Ducx.cleanupRace.runs=M} (pairs of JVMs), {@code -Drace.kinds=2,3} and {@code -Drace.window=N} (the
 * operations each poster of the kept provider has outstanding at most, {@link CleanupRacePeer}).
 */
class UcxCleanupRacePeersTest {
    private static final String ROUNDS = "ucx.cleanupRace.rounds";
    private static final String RUNS = "ucx.cleanupRace.runs";
    private static final String PROCESSES = "ucx.cleanupRace.processes";
    private static final String SWAP = "ucx.cleanupRace.swap";
    /** Bound of each wait for a peer's line: the rounds are slow on a loaded machine. */
    private static final long LINE_SECONDS = 180;
    /** Connections per round ({@code -Drace.pairs}). */
    private static final int PAIRS = Integer.getInteger("race.pairs", 2);

    // No @Checks: skipped by default, like UcxCleanupRaceTest.
    @Test
    void providersInTwoProcessesCleaningUpWithOperationsInFlightEndNormally() throws Exception {
        String rounds = System.getProperty(ROUNDS);
        Assumptions.assumeTrue("2".equals(System.getProperty(PROCESSES)) && rounds != null && !rounds.isBlank(),
                "the two-process cleanup race runs only when asked (docs/toolchain.md TC-22): -D" + PROCESSES + "=2 -D"
                        + ROUNDS + "=N");
        Assumptions.assumeTrue(Ucx.isAvailable(), "UCX is not available: " + Ucx.unavailabilityCause());
        boolean both = !"one".equals(System.getProperty(SWAP, "both"));
        int runs = Integer.getInteger(RUNS, 1);
        int aborted = 0;
        StringBuilder report = new StringBuilder();
        for (int run = 1; run <= runs; run++) {
            Peer listener = new Peer("listen", rounds, both ? "swap" : "keep");
            Peer connector = new Peer("connect", rounds, "swap");
            String failure = null;
            try {
                failure = pair(listener, connector, Integer.parseInt(rounds), both);
            } finally {
                // After an abort the survivor waits for a line that never comes: it is ended at once.
                listener.end(failure != null);
                connector.end(failure != null);
            }
            System.out.println("run " + run + ": listener " + listener.summary() + "; connector " + connector.summary()
                    + (failure == null ? "" : "; " + failure));
            assertTrue(!listener.failedRule() && !connector.failedRule(), "run " + run + ": a rule broke:\n"
                    + listener.tail() + "\n---\n" + connector.tail());
            if (failure != null) {
                aborted++;
                report.append("run ").append(run).append(": ").append(failure).append("\nlistener (exit ")
                        .append(listener.exit).append("):\n").append(listener.tail()).append("\nconnector (exit ")
                        .append(connector.exit).append("):\n").append(connector.tail()).append('\n');
            }
        }
        assertEquals(0, aborted, aborted + " of " + runs + " pairs of JVMs aborted\n" + report);
    }

    /** Drives the rounds of one pair; null if both ended normally, else what went wrong. */
    private static String pair(Peer listener, Peer connector, int rounds, boolean both) throws Exception {
        for (int round = 1; round <= rounds; round++) {
            String port = listener.expect("PORT ");
            if (port == null) {
                return "round " + round + ": no port from the listener";
            }
            connector.tell(port);
            for (int i = 0; i < PAIRS; i++) {
                String fromListener = listener.expect("EXPOSED ");
                String fromConnector = connector.expect("EXPOSED ");
                if (fromListener == null || fromConnector == null) {
                    return "round " + round + ": no exposure";
                }
                connector.tell(fromListener);
                listener.tell(fromConnector);
            }
            if (listener.expect("WARM") == null || connector.expect("WARM") == null) {
                return "round " + round + ": the posters did not warm up";
            }
            if (both) {
                listener.tell("CLEAN");
                connector.tell("CLEAN");
            } else {
                connector.tell("CLEAN");
                if (connector.expect("CLEANED") == null) {
                    return "round " + round + ": the connector's final cleanup did not end";
                }
                listener.tell("PEERCLEANED");
            }
            if (listener.expect("ROUNDDONE") == null || connector.expect("ROUNDDONE") == null) {
                return "round " + round + ": a peer did not finish the round";
            }
        }
        if (listener.expect("DONE ") == null || connector.expect("DONE ") == null) {
            return "a peer did not end";
        }
        if (!listener.process.waitFor(60, TimeUnit.SECONDS) || !connector.process.waitFor(60, TimeUnit.SECONDS)) {
            return "a peer did not exit";
        }
        if (listener.process.exitValue() != 0 || connector.process.exitValue() != 0) {
            return "exit " + listener.process.exitValue() + "/" + connector.process.exitValue();
        }
        return null;
    }

    /** One peer JVM: its stdin, and its output lines as they come. */
    private static final class Peer {
        private static final String EOF = "\u0000EOF";
        final Process process;
        private final PrintStream in;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<String> all = Collections.synchronizedList(new ArrayList<>());
        Integer exit;

        Peer(String role, String rounds, String mode) throws Exception {
            List<String> command = List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                    "-Xmx512m", "-Drace.kinds=" + System.getProperty("race.kinds", "0,1,2,3"),
                    "-Drace.pairs=" + PAIRS, "-Drace.window=" + Integer.getInteger("race.window", 16), "-cp", System.getProperty("java.class.path"),
                    CleanupRacePeer.class.getName(), role, rounds, mode);
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().put("UCX_ERROR_SIGNALS", ""); // UCX's signal handlers stay out of the JVM's way
            process = pb.start();
            in = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l = r.readLine(); l != null; l = r.readLine()) {
                        all.add(l);
                        int at = l.indexOf(CleanupRacePeer.MARK);
                        if (at >= 0) {
                            lines.add(l.substring(at + CleanupRacePeer.MARK.length()));
                        }
                    }
                } catch (Exception e) {
                    all.add("reading: " + e);
                } finally {
                    lines.add(EOF);
                }
            }, role + "-output");
            reader.setDaemon(true);
            reader.start();
        }

        void tell(String line) {
            in.println(line);
        }

        /** The next line starting with {@code prefix}; null if the peer ended, failed or went quiet first. */
        String expect(String prefix) throws InterruptedException {
            while (true) {
                String l = lines.poll(LINE_SECONDS, TimeUnit.SECONDS);
                if (l == null || l.equals(EOF) || l.startsWith("FAILED")) {
                    if (l != null && !l.equals(EOF)) {
                        lines.add(l); // seen again by failedRule's callers through all
                    }
                    return null;
                }
                if (l.startsWith(prefix)) {
                    return l;
                }
            }
        }

        boolean failedRule() {
            synchronized (all) {
                return all.stream().anyMatch(l -> l.contains(CleanupRacePeer.MARK + "FAILED"));
            }
        }

        void end(boolean now) throws InterruptedException {
            if (!process.waitFor(now ? 2 : 30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            exit = process.exitValue();
        }

        /** Rounds reached, cleanup durations and the exit status. */
        String summary() {
            synchronized (all) {
                return all.stream().filter(l -> l.contains(CleanupRacePeer.MARK)).map(l -> l.substring(l.indexOf(CleanupRacePeer.MARK) + CleanupRacePeer.MARK.length()))
                        .filter(l -> l.startsWith("round") || l.startsWith("cleanup took") || l.startsWith("DONE")).toList()
                        + " exit " + exit;
            }
        }

        /** The end of the peer's output, without UCX's mpool leak lines. */
        String tail() {
            synchronized (all) {
                List<String> l = all.stream().filter(x -> !x.contains("mpool.c") && !x.contains("tag_match.c")).toList();
                return String.join("\n", l.subList(Math.max(0, l.size() - 40), l.size()));
            }
        }
    }
}
