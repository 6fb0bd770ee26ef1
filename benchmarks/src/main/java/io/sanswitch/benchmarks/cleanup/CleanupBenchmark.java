package io.sanswitch.benchmarks.cleanup;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import io.sanswitch.rdma.Ucx;
import io.sanswitch.rdma.UcxTransports;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.transport.Transport;

/**
 * Time of one final cleanup (the last {@code cleanup}) against open sockets and pending
 * operations, over NIO and over UCX, with the engine's per-step split (a gate, b abort + release,
 * c reset, d+e transport release). Each cell sets up its sockets and operations anew (see
 * {@link CleanupFixture}) and times one final cleanup, {@code --repeats} times; the median run is
 * reported. Writes {@code cleanup.csv} and {@code cleanup.png} to {@code --out}, prints the table
 * and the verdicts: 10,000 sockets with 100,000 pending over NIO in under 100 ms, and growth at
 * most linear (each tenfold step of sockets, of pending operations, or of both, at most 11 times
 * the time).
 *
 * <p>UCX runs in a child JVM (UCX needs {@code UCX_ERROR_SIGNALS} empty from the start), with as
 * many endpoints as the machine gives in reasonable time: a cell whose setup fails, or takes
 * longer than {@code --ucx-setup-budget} seconds, ends the larger socket counts with a note.
 *
 * <pre>mvn -B -q -pl benchmarks -am install -DskipTests
 * mvn -B -q -pl benchmarks exec:java@cleanup -Dexec.args="--repeats 5"</pre>
 *
 * Options: {@code --transports nio,ucx}, {@code --sockets 100,1000,10000},
 * {@code --pending 1000,10000,100000}, {@code --repeats 5}, {@code --out DIR}
 * ({@code benchmarks/target/cleanup-bench}), {@code --ucx-policy spin-then-wakeup},
 * {@code --ucx-tls ""} (UCX's choice), {@code --ucx-setup-budget 120}, {@code --smoke} (NIO,
 * 100 sockets x 1,000 pending, one run); {@code --from-csv CSV DIR} prints the table and verdicts of
 * a saved run and draws its plot into DIR.
 */
public final class CleanupBenchmark {
    static final int TARGET_SOCKETS = 10_000;
    static final int TARGET_PENDING = 100_000;
    static final double TARGET_MS = 100;
    static final double MAX_GROWTH = 11;
    /** What the open-file limit is raised to when the grid needs more than it allows. */
    static final long RAISED_FD_LIMIT = 200_000;

    /** What to run. */
    public record Options(List<String> transports, List<Integer> sockets, List<Integer> pending, int repeats, Path out,
            String ucxPolicy, String ucxTls, int ucxSetupBudgetSeconds) {

        public static Options parse(String... args) {
            List<String> transports = List.of("nio", "ucx");
            List<Integer> sockets = List.of(100, 1_000, 10_000);
            List<Integer> pending = List.of(1_000, 10_000, 100_000);
            int repeats = 5;
            Path out = Files.isDirectory(Path.of("benchmarks")) ? Path.of("benchmarks", "target", "cleanup-bench")
                    : Path.of("target", "cleanup-bench");
            String policy = "spin-then-wakeup";
            String tls = "";
            int budget = 120;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--transports" -> transports = List.of(args[++i].split(","));
                    case "--sockets" -> sockets = ints(args[++i]);
                    case "--pending" -> pending = ints(args[++i]);
                    case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                    case "--out" -> out = Path.of(args[++i]);
                    case "--ucx-policy" -> policy = args[++i];
                    case "--ucx-tls" -> tls = args[++i];
                    case "--ucx-setup-budget" -> budget = Integer.parseInt(args[++i]);
                    case "--smoke" -> {
                        transports = List.of("nio");
                        sockets = List.of(100);
                        pending = List.of(1_000);
                        repeats = 1;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i]
                            + "; see the Javadoc of CleanupBenchmark");
                }
            }
            if (repeats < 1 || sockets.stream().anyMatch(n -> n < 1) || pending.stream().anyMatch(n -> n < 0)) {
                throw new IllegalArgumentException("repeats >= 1, sockets >= 1, pending >= 0");
            }
            for (String t : transports) {
                if (!t.equals("nio") && !t.equals("ucx")) {
                    throw new IllegalArgumentException("transport " + t + ": nio or ucx");
                }
            }
            return new Options(transports, sockets, pending, repeats, out, policy, tls, budget);
        }

        String[] childArgs() {
            return new String[] {"--sockets", join(sockets), "--pending", join(pending), "--repeats", Integer.toString(repeats),
                "--ucx-policy", ucxPolicy, "--ucx-tls", ucxTls, "--ucx-setup-budget", Integer.toString(ucxSetupBudgetSeconds)};
        }

        private static List<Integer> ints(String csv) {
            return Arrays.stream(csv.split(",")).map(String::trim).map(Integer::parseInt).toList();
        }

        private static String join(List<Integer> values) {
            return String.join(",", values.stream().map(String::valueOf).toList());
        }
    }

    /** The grid's cells, the files written and the verdicts. */
    public record Result(List<Cell> cells, Path csv, Path png, List<String> verdicts, List<String> notes) {
    }

    private CleanupBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        // Two INFO lines per cleanup and provider would drown the table; warnings still show.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        if (args.length == 3 && args[0].equals("--from-csv")) {
            // Table, plot and verdicts again from a saved run, e.g. after changing the plot.
            List<String> lines = Files.readAllLines(Path.of(args[1]));
            List<Cell> cells = lines.subList(1, lines.size()).stream().map(Cell::parse).toList();
            CleanupReport.printTable(cells, System.out);
            Verdicts.of(cells).forEach(System.out::println);
            System.out.println("plot: " + CleanupReport.writePlot(cells, Path.of(args[2])).toAbsolutePath());
            return;
        }
        if (args.length > 0 && args[0].equals("--ucx-child")) {
            ucxChild(Options.parse(Arrays.copyOfRange(args, 1, args.length)));
            System.exit(0);
        }
        Options options = Options.parse(args);
        Result r = run(options, System.out);
        r.verdicts().forEach(System.out::println);
        System.out.println("CSV:  " + r.csv().toAbsolutePath());
        System.out.println("plot: " + r.png().toAbsolutePath());
        // No System.exit: under exec:java this runs inside Maven's JVM.
    }

    public static Result run(Options options, PrintStream out) throws Exception {
        List<String> notes = new ArrayList<>();
        int maxSockets = options.sockets().stream().max(Integer::compare).orElse(0);
        // This process holds the near ends (the far ends are in a CleanupPeer process), plus
        // selectors, UCX's own descriptors and the JVM's.
        notes.add(FdLimit.ensure(maxSockets + 1_000L, RAISED_FD_LIMIT));
        notes.add(Runtime.getRuntime().availableProcessors() + " cores, Java " + Runtime.version() + ", " + loadAverage());
        notes.forEach(n -> out.println("# " + n));
        List<Cell> cells = new ArrayList<>();
        for (String t : options.transports()) {
            if (t.equals("nio")) {
                cells.addAll(grid("nio", CleanupBenchmark::nio, new String[] {"nio"}, options, out));
            } else {
                cells.addAll(ucxInChild(options, out, notes));
            }
        }
        String after = loadAverage() + " at the end";
        notes.add(after);
        out.println("# " + after);
        CleanupReport.printTable(cells, out);
        Path csv = CleanupReport.writeCsv(cells, options.out());
        Path png = CleanupReport.writePlot(cells, options.out());
        return new Result(cells, csv, png, Verdicts.of(cells), notes);
    }

    /** The machine's load: the figures mean little on a machine other work keeps busy. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return "load average " + f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "load average unknown";
        }
    }

    private static Transport nio() {
        return new NioTransport(1, true);
    }

    /** Small cells first, not reported, so the measured ones do not include class loading and JIT. */
    private static void warmUp(Supplier<Transport> transports, String name, PeerProcess peer, PrintStream out)
            throws Exception {
        for (int i = 0; i < 3; i++) {
            try (CleanupFixture f = new CleanupFixture(transports, name, 100, 10_000, peer)) {
                f.timeFinalCleanup();
            }
            peer.next();
        }
        out.println("# " + name + ": warmed up (3 cleanups of 100 sockets x 10,000 pending, not reported)");
    }

    /**
     * Every cell of the grid on one transport, against one {@link CleanupPeer} process. Cells
     * after a socket count whose setup failed, or ran over the budget, are skipped with the reason.
     */
    static List<Cell> grid(String name, Supplier<Transport> transports, String[] peerArgs, Options options,
            PrintStream out) throws Exception {
        String engineName = name.equals("nio") ? "tcp" : name;
        List<Cell> cells = new ArrayList<>();
        try (PeerProcess peer = new PeerProcess(peerArgs)) {
            warmUp(transports, engineName, peer, out);
            String stop = null;
            for (int sockets : options.sockets()) {
                double rawClose = name.equals("nio") ? RawCloseReference.medianMs(peer, sockets, options.repeats()) : Double.NaN;
                for (int pending : options.pending()) {
                    if (stop != null) {
                        cells.add(Cell.skipped(name, sockets, pending, stop));
                        continue;
                    }
                    List<CleanupFixture.Sample> samples = new ArrayList<>();
                    long slowestSetup = 0;
                    try {
                        for (int i = 0; i < options.repeats(); i++) {
                            long t0 = System.nanoTime();
                            try (CleanupFixture f = new CleanupFixture(transports, engineName, sockets, pending,
                                    peer)) {
                                slowestSetup = Math.max(slowestSetup, System.nanoTime() - t0);
                                samples.add(f.timeFinalCleanup());
                            } finally {
                                peer.next();
                            }
                        }
                    } catch (Exception | Error e) {
                        String why = "setup or cleanup failed at " + sockets + " sockets: " + e;
                        out.println("# " + why);
                        e.printStackTrace(out);
                        cells.add(Cell.skipped(name, sockets, pending, why));
                        stop = why;
                        continue;
                    }
                    Cell c = median(name, sockets, pending, samples).withRawClose(rawClose);
                    out.printf(Locale.ROOT, "# %s %d sockets x %d pending: %.2f ms (slowest setup %.1f s)%n", name, sockets,
                            pending, c.totalMs(), slowestSetup / 1e9);
                    cells.add(c);
                    if (slowestSetup > options.ucxSetupBudgetSeconds() * 1_000_000_000L && !name.equals("nio")) {
                        stop = "setting up " + sockets + " sockets took " + slowestSetup / 1_000_000_000L + " s, over the "
                                + options.ucxSetupBudgetSeconds() + " s budget";
                    }
                }
            }
        }
        return cells;
    }

    /** The run with the median total, with its own split. */
    static Cell median(String name, int sockets, int pending, List<CleanupFixture.Sample> samples) {
        List<CleanupFixture.Sample> sorted = new ArrayList<>(samples);
        sorted.sort(Comparator.comparingLong(CleanupFixture.Sample::totalNanos));
        CleanupFixture.Sample m = sorted.get((sorted.size() - 1) / 2);
        return new Cell(name, sockets, pending, samples.size(), m.totalNanos() / 1e6, m.steps().gateNanos() / 1e6,
                m.steps().abortNanos() / 1e6, m.steps().resetNanos() / 1e6, m.steps().transportNanos() / 1e6, Double.NaN,
                null);
    }

    // ------------------------------------------------------------------ UCX, in a child JVM

    private static List<Cell> ucxInChild(Options options, PrintStream out, List<String> notes) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx4g", "-cp", classpath(), CleanupBenchmark.class.getName(), "--ucx-child"));
        command.addAll(List.of(options.childArgs()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("UCX_ERROR_SIGNALS", "");
        Process p = pb.start();
        List<Cell> cells = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("CELL ")) {
                    cells.add(Cell.parse(line.substring(5)));
                } else {
                    out.println(line);
                    if (line.startsWith("# ucx:")) {
                        notes.add(line.substring(2));
                    }
                }
            }
        }
        int exit = p.waitFor();
        if (cells.isEmpty()) {
            String why = "the UCX child JVM produced no cell (exit " + exit + ")";
            for (int s : options.sockets()) {
                for (int n : options.pending()) {
                    cells.add(Cell.skipped("ucx", s, n, why));
                }
            }
        }
        return cells;
    }

    private static void ucxChild(Options options) {
        PrintStream progress = System.err;
        List<Cell> cells;
        if (!Ucx.isAvailable()) {
            String why = "UCX not available: " + Ucx.unavailabilityCause();
            System.out.println("# ucx: " + why);
            cells = new ArrayList<>();
            for (int s : options.sockets()) {
                for (int n : options.pending()) {
                    cells.add(Cell.skipped("ucx", s, n, why));
                }
            }
        } else {
            System.out.println("# ucx: progress policy " + options.ucxPolicy() + ", UCX_TLS "
                    + (options.ucxTls().isEmpty() ? "UCX's choice" : options.ucxTls()) + ", setup budget "
                    + options.ucxSetupBudgetSeconds() + " s per fixture");
            try {
                cells = grid("ucx", () -> UcxTransports.create(options.ucxPolicy(), options.ucxTls()),
                        new String[] {"ucx", options.ucxPolicy(), options.ucxTls()}, options, progress);
            } catch (Exception e) {
                e.printStackTrace(progress);
                cells = List.of();
            }
        }
        for (Cell c : cells) {
            System.out.println("CELL " + c.csv());
        }
        System.out.flush();
    }

    /** This program's class path, also under {@code exec:java} (a URLClassLoader inside Maven). */
    static String classpath() {
        if (CleanupBenchmark.class.getClassLoader() instanceof URLClassLoader loader && loader.getURLs().length > 0) {
            List<String> entries = new ArrayList<>();
            for (URL url : loader.getURLs()) {
                try {
                    entries.add(Path.of(url.toURI()).toString());
                } catch (URISyntaxException | IllegalArgumentException e) {
                    entries.add(url.getPath());
                }
            }
            return String.join(File.pathSeparator, entries);
        }
        return System.getProperty("java.class.path");
    }
}
