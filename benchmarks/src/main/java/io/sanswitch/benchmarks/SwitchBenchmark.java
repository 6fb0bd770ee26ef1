package io.sanswitch.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import io.sanswitch.benchmarks.UcxBenchmark.Child;
import io.sanswitch.benchmarks.UcxBenchmark.ForeignLoad;

/**
 * What an application gets from the switch ({@code SocketSwitch}), against the provider it runs
 * on and the raw transport under that, in one run: throughput and ping-pong round trip for
 * message sizes from 8 bytes to 16 MiB, over TCP and over UCX, with the CPU time each moves a GiB
 * with. Every measurement runs across two JVMs (server and client, each pinned to a core of its
 * own like {@link UcxBenchmark}'s), in a fresh pair with one connection:
 *
 * <ul>
 * <li>{@code raw}: two blocking NIO {@code SocketChannel}s ({@link SwitchPeer}) over tcp;
 *     {@code ucx_perftest -t tag_bw / tag_lat} (as {@link UcxBenchmark} runs it) over ucx;
 * <li>{@code provider}: the provider engine over the NIO or UCX transport ({@link EnginePeer},
 *     driven from its completion upcalls as TcpBenchmark and UcxBenchmark drive it);
 * <li>{@code switch}: a {@code Switch} with that engine bound, listen and connect pinned to the
 *     transport, async {@code send}/{@code receive} as an application calls them ({@link SwitchPeer});
 * <li>{@code switch+migrate} (ucx only): the same switch with {@code migrate} on at both ends and a
 *     TCP provider bound beside the UCX one (the resume port), so the connection carries SESSION and
 *     ACK frames and keeps what it sent until acknowledged (docs/migration.md). Over tcp it is not
 *     measured: a connection that began on TCP is never framed and never moves, migrate on or off.
 * </ul>
 *
 * <p>For each size the layers take turns, in an order that rotates from round to round so drift in
 * the machine favours none; the figures are medians over the rounds. UCX's provider and switch are
 * measured with each {@code --policies} progress policy ({@code ucx_perftest} busy-polls). Throughput
 * keeps {@code --depth} sends and receives of the size outstanding on each side; the round trip is
 * the size there and back. CPU time per GiB: user + system time of both processes
 * (/proc/PID/stat) over the measurement window, per GiB moved in it (both directions for a round
 * trip); for ucx_perftest its whole run (start-up and warm-up included) per GiB it moved.
 *
 * <p>Prints a line per measurement, then the table and the targets (MET/MISSED: switch ÷
 * provider 1 MiB throughput ≥ 0.90, switch ÷ provider 8-byte round trip ≤ 1.2, switch over ucx ÷
 * switch over tcp 1 MiB throughput ≥ 2; each for switch+migrate too), the cost of migration (a
 * line per policy, metric and size: switch+migrate ÷ switch, the ratio of the medians and of each
 * round's pair), and writes {@code switch-bench.csv},
 * {@code throughput.png} and {@code latency.png} to {@code --out} (default
 * {@code benchmarks/target/switch-bench}). A missed target is a figure, not an error.
 *
 * <pre>mvn -B -q -pl benchmarks -am install -DskipTests
 * mvn -B -q -pl benchmarks exec:java@switch -Djava.awt.headless=true -Dexec.args="--rounds 3"</pre>
 *
 * <p>Options: {@code --rounds N} (3), {@code --seconds S} per window (0.5), {@code --warmup S}
 * (2: the switch's path has more code for the JIT than the provider's; after 0.3 s its 8-byte
 * round trip over tcp measured 6.9 times the provider's, after 4 s 1.3 times, in the same minute),
 * {@code --jit-settle S} (20: after the warm-up, each peer waits, at most S more seconds, until its JIT compiler
 * threads went quiet, {@link JitWarmup}; 0 turns it off), {@code --sizes a,b,...} in bytes (8, then 16 to 16 MiB in powers of 4), {@code --transports
 * tcp,ucx}, {@code --policies busy-poll,spin-briefly-then-wakeup}, {@code --depth N} (4), {@code --out DIR}, {@code --layers raw,provider,switch,switch+migrate} (all by default; the
 * layers measured, {@code --layers switch,switch+migrate} for migration's cost alone; {@code --migrate}, which ran
 * every switch with migrate on, is replaced by the switch+migrate layer),
 * {@code --quiet-wait S} (5) / {@code --retries N} (1) / {@code --max-foreign C} (0.3) as in
 * UcxBenchmark, {@code --no-pin}, {@code --verbose}, {@code --smoke} (8 bytes and 1 MiB, one round
 * of 0.2 s, spin-briefly-then-wakeup only, no waiting, no JIT settling; every layer, switch+migrate included); {@code --replot CSV} draws the plots again from a CSV. Without UCX (libucx0, ucx-utils) only tcp is measured.
 */
public final class SwitchBenchmark {
    static final String SWITCH_PEER = "io.sanswitch.benchmarks.SwitchPeer";
    static final int MIB = 1 << 20;
    static final double GIB = 1024.0 * 1024 * 1024;
    static final String TCP = "tcp";
    static final String UCX = "ucx";
    /**
     * UCX logs to standard output, where the peers' protocol lines go: its warnings at the end of a
     * stream measurement (messages sent, never received) would cut through them.
     */
    static final Map<String, String> QUIET_UCX = Map.of("UCX_LOG_LEVEL", "error");

    /** The layers, bottom up; switch+migrate is measured over ucx only (a TCP connection never moves). */
    static final String MIGRATING = SwitchPeer.MIGRATING_LAYER;
    static final List<String> LAYERS = List.of("raw", "provider", "switch", MIGRATING);

    /** The default sizes: 8 bytes, then 16 bytes to 16 MiB in powers of 4 (which include 1 MiB). */
    static final List<Integer> SIZES = List.of(8, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, MIB, 4 * MIB, 16 * MIB);

    /** How long, how often and what to measure. */
    public record Options(int rounds, double seconds, double warmup, List<Integer> sizes, List<String> transports,
            List<String> policies, int depth, Path out, double quietWait, int retries, double maxForeign, boolean pin,
            boolean verbose, double jitSettle, List<String> layers) {
        public Options {
            if (rounds < 1 || seconds <= 0 || warmup < 0 || jitSettle < 0 || sizes.isEmpty() || transports.isEmpty() || policies.isEmpty()
                    || depth < 1 || quietWait < 0 || retries < 0 || maxForeign <= 0) {
                throw new IllegalArgumentException("rounds >= 1, seconds > 0, warmup >= 0, sizes, transports and policies "
                        + "not empty, depth >= 1");
            }
            for (int s : sizes) {
                if (s < 1 || s > 64 * MIB) {
                    throw new IllegalArgumentException("size " + s + " outside 1 .. 64 MiB");
                }
            }
            for (String t : transports) {
                if (!t.equals(TCP) && !t.equals(UCX)) {
                    throw new IllegalArgumentException("transport " + t + ": tcp or ucx");
                }
            }
            if (layers.isEmpty()) {
                throw new IllegalArgumentException("layers not empty");
            }
            for (String l : layers) {
                if (!LAYERS.contains(l)) {
                    throw new IllegalArgumentException("layer " + l + ": one of " + String.join(",", LAYERS));
                }
            }
            layers = List.copyOf(layers);
            sizes = List.copyOf(sizes);
            transports = List.copyOf(transports);
            policies = List.copyOf(policies);
        }

        public static Options parse(String... args) {
            int rounds = 3;
            double seconds = 0.5;
            double warmup = 2;
            List<Integer> sizes = SIZES;
            List<String> transports = List.of(TCP, UCX);
            List<String> policies = List.of("busy-poll", "spin-briefly-then-wakeup");
            int depth = 4;
            Path out = Path.of("benchmarks", "target", "switch-bench");
            if (Files.isDirectory(Path.of("target")) && !Files.isDirectory(Path.of("benchmarks"))) {
                out = Path.of("target", "switch-bench"); // run from inside the module
            }
            double quietWait = 5;
            int retries = 1;
            double maxForeign = 0.3;
            boolean pin = true;
            boolean verbose = false;
            double jitSettle = 20;
            List<String> layers = LAYERS;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                    case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                    case "--warmup" -> warmup = Double.parseDouble(args[++i]);
                    case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).map(String::trim).filter(s -> !s.isEmpty())
                            .map(Integer::valueOf).toList();
                    case "--transports" -> transports = list(args[++i]);
                    case "--policies" -> policies = list(args[++i]);
                    case "--depth" -> depth = Integer.parseInt(args[++i]);
                    case "--out" -> out = Path.of(args[++i]);
                    case "--quiet-wait" -> quietWait = Double.parseDouble(args[++i]);
                    case "--retries" -> retries = Integer.parseInt(args[++i]);
                    case "--max-foreign" -> maxForeign = Double.parseDouble(args[++i]);
                    case "--no-pin" -> pin = false;
                    case "--verbose" -> verbose = true;
                    case "--jit-settle" -> jitSettle = Double.parseDouble(args[++i]);
                    case "--layers" -> layers = list(args[++i]);
                    case "--migrate" -> throw new IllegalArgumentException("--migrate is replaced by the switch+migrate layer, "
                            + "measured beside the switch by default (--layers switch,switch+migrate for those two alone)");
                    case "--smoke" -> {
                        rounds = 1;
                        seconds = 0.2;
                        warmup = 0.1;
                        sizes = List.of(8, MIB);
                        policies = List.of("spin-briefly-then-wakeup"); // the default; busy-poll starves on a loaded CI machine
                        quietWait = 0;
                        retries = 0;
                        jitSettle = 0;
                    }
                    default -> throw new IllegalArgumentException("usage: [--rounds N] [--seconds S] [--warmup S] [--sizes a,b] "
                            + "[--transports tcp,ucx] [--policies p,q] [--depth N] [--out DIR] [--quiet-wait S] [--retries N] "
                            + "[--max-foreign C] [--no-pin] [--verbose] [--jit-settle S] [--layers raw,provider,switch,switch+migrate] [--smoke]; got " + args[i]);
                }
            }
            return new Options(rounds, seconds, warmup, sizes, transports, policies, depth, out, quietWait, retries, maxForeign,
                    pin, verbose, jitSettle, layers);
        }

        private static List<String> list(String csv) {
            return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        }

        /** The same settings in UcxBenchmark's terms, for the helpers shared with it. */
        UcxBenchmark.Options ucx() {
            return new UcxBenchmark.Options(seconds, rounds, List.of(UcxBenchmark.DEFAULT_TLS), depth, policies.get(0), 0, false,
                    "ucx_perftest", verbose, quietWait, List.of(), retries, maxForeign, warmup, pin);
        }
    }

    /** What is measured: throughput (MiB/s) or the round trip (µs). */
    public enum Metric {
        THROUGHPUT("stream", "tag_bw", "MiB/s"),
        ROUND_TRIP("pingpong", "tag_lat", "µs");

        final String phase;
        final String perftest;
        final String unit;

        Metric(String phase, String perftest, String unit) {
            this.phase = phase;
            this.perftest = perftest;
            this.unit = unit;
        }
    }

    /** One curve: a transport, a layer (raw, provider, switch, switch+migrate) and, for ucx's provider and switch, a progress policy. */
    public record Series(String transport, String layer, String policy) {
        public String label() {
            String what = layer.equals("raw") && transport.equals(UCX) ? "raw (ucx_perftest)" : layer;
            return transport + " " + what + (policy.isEmpty() ? "" : " " + policy);
        }
    }

    /** A median figure (MiB/s or µs round trip) and the median CPU seconds per GiB moved. */
    public record Row(Series series, Metric metric, int size, double value, double cpuPerGiB) {
    }

    /** One measurement's figure, CPU seconds per GiB and the CPU others used meanwhile. */
    record Sample(double value, double cpuPerGiB, double foreignCores) {
    }

    /**
     * Migration's cost at one policy, metric and size: switch+migrate ÷ switch, from the medians and
     * from each round's pair (measured in the same round, a few seconds apart); NaN where one failed.
     */
    public record Cost(String policy, Metric metric, int size, double ofMedians, double[] perRound) {
    }

    /** A verdict on one of the targets. */
    public record Verdict(String target, double ratio, String bound, boolean met) {
    }

    private SwitchBenchmark() {
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        if (args.length == 2 && args[0].equals("--replot")) {
            replot(Path.of(args[1]));
            return;
        }
        Options options;
        try {
            options = Options.parse(args);
        } catch (RuntimeException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        try {
            Result r = run(options, System.out);
            System.exit(r.rows().isEmpty() ? 1 : 0);
        } catch (Exception e) {
            System.err.println("benchmark failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /** Draws the two plots again from a CSV of an earlier run, beside it. */
    static void replot(Path csv) {
        try {
            List<Row> rows = BenchReport.readCsv(csv);
            Path dir = csv.toAbsolutePath().getParent();
            BenchReport.plot(rows, Metric.THROUGHPUT, THROUGHPUT_TITLE, dir.resolve("throughput.png"));
            BenchReport.plot(rows, Metric.ROUND_TRIP, LATENCY_TITLE, dir.resolve("latency.png"));
            System.out.println("plots written to " + dir);
        } catch (IOException | RuntimeException e) {
            System.err.println("cannot draw the plots from " + csv + ": " + e.getMessage());
            System.exit(1);
        }
    }

    static final String THROUGHPUT_TITLE = "Throughput by message size (median, two processes over loopback)";
    static final String LATENCY_TITLE = "Ping-pong round trip by message size (median, two processes over loopback)";

    /** The medians, the verdicts and where the files went. */
    public record Result(List<Row> rows, List<Verdict> verdicts, List<Cost> costs, Path csv, Path throughputPng, Path latencyPng) {
    }

    /** Measures, prints and writes the CSV and the plots. */
    public static Result run(Options options, PrintStream out) throws Exception {
        List<String> transports = new ArrayList<>(options.transports());
        if (transports.contains(UCX)) {
            Optional<String> unavailable = UcxBenchmark.unavailable(options.ucx());
            if (unavailable.isPresent()) {
                out.println("note: ucx not measured: " + unavailable.get());
                transports.remove(UCX);
            }
        }
        if (transports.isEmpty()) {
            throw new IllegalStateException("nothing to measure");
        }
        out.printf(Locale.ROOT, "switch benchmark: %s; %d rounds of %.2f s (+%.2f s warm-up, then until the JIT is quiet, at most %.0f s more) per measurement, %d sizes, depth %d, "
                + "%d cores, policies %s%n", transports, options.rounds(), options.seconds(), options.warmup(), options.jitSettle(), options.sizes().size(),
                options.depth(), Runtime.getRuntime().availableProcessors(), options.policies());
        List<Series> series = series(transports, options.policies(), options.layers());
        if (options.layers().contains(MIGRATING) && !transports.contains(UCX)) {
            out.println("note: switch+migrate not measured: it runs over ucx only (a connection that began on tcp never moves)");
        }
        Map<String, List<Sample>> samples = new LinkedHashMap<>();
        PerftestIterations iterations = new PerftestIterations(options);
        for (int round = 0; round < options.rounds(); round++) {
            for (Metric metric : Metric.values()) {
                for (int size : options.sizes()) {
                    for (String transport : transports) {
                        List<Series> layers = series.stream().filter(s -> s.transport().equals(transport)).toList();
                        for (int k = 0; k < layers.size(); k++) {
                            // Rotate the order from round to round: drift in the machine favours no layer.
                            Series s = layers.get((k + round) % layers.size());
                            Sample sample = undisturbed(options, s, metric, size, iterations, out);
                            samples.computeIfAbsent(key(s, metric, size), x -> new ArrayList<>()).add(sample);
                            out.printf(Locale.ROOT, "[round %d/%d] %-28s %-10s %9s: %12s %-5s cpu %s s/GiB%n", round + 1,
                                    options.rounds(), s.label(), metric.phase, BenchReport.size(size),
                                    BenchReport.figure(sample.value()), metric.unit, BenchReport.figure(sample.cpuPerGiB()));
                        }
                    }
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        for (Series s : series) {
            for (Metric metric : Metric.values()) {
                for (int size : options.sizes()) {
                    List<Sample> l = samples.get(key(s, metric, size));
                    rows.add(new Row(s, metric, size, median(l.stream().mapToDouble(Sample::value).filter(Double::isFinite).toArray()),
                            median(l.stream().mapToDouble(Sample::cpuPerGiB).filter(Double::isFinite).toArray())));
                }
            }
        }
        List<Verdict> verdicts = BenchReport.verdicts(rows, options.policies());
        List<Cost> costs = costs(samples, options);
        Files.createDirectories(options.out());
        Path csv = options.out().resolve("switch-bench.csv");
        Path tp = options.out().resolve("throughput.png");
        Path lat = options.out().resolve("latency.png");
        BenchReport.writeCsv(rows, csv);
        BenchReport.plot(rows, Metric.THROUGHPUT, THROUGHPUT_TITLE, tp);
        BenchReport.plot(rows, Metric.ROUND_TRIP, LATENCY_TITLE, lat);
        out.println();
        BenchReport.printTable(rows, series, options.sizes(), out);
        out.println();
        BenchReport.printVerdicts(verdicts, out);
        if (!costs.isEmpty()) {
            out.println();
            BenchReport.printCosts(costs, out);
        }
        if (failedMeasurements > 0) {
            out.println(failedMeasurements + " measurements failed twice (FAILED above); their rounds are left out");
        }
        out.println("files: " + csv + ", " + tp + ", " + lat);
        return new Result(rows, verdicts, costs, csv, tp, lat);
    }

    static List<Series> series(List<String> transports, List<String> policies, List<String> layers) {
        List<Series> all = new ArrayList<>();
        for (String t : transports) {
            if (layers.contains("raw")) {
                all.add(new Series(t, "raw", ""));
            }
            for (String p : t.equals(TCP) ? List.of("") : policies) {
                for (String layer : List.of("provider", "switch", MIGRATING)) {
                    if (layers.contains(layer) && !(t.equals(TCP) && layer.equals(MIGRATING))) {
                        all.add(new Series(t, layer, p));
                    }
                }
            }
        }
        return all;
    }

    /** switch+migrate ÷ switch per ucx policy, metric and size, where both were measured. */
    static List<Cost> costs(Map<String, List<Sample>> samples, Options options) {
        List<Cost> costs = new ArrayList<>();
        for (String p : options.policies()) {
            for (Metric metric : Metric.values()) {
                for (int size : options.sizes()) {
                    List<Sample> on = samples.get(key(new Series(UCX, MIGRATING, p), metric, size));
                    List<Sample> off = samples.get(key(new Series(UCX, "switch", p), metric, size));
                    if (on == null || off == null) {
                        continue;
                    }
                    double[] perRound = new double[Math.min(on.size(), off.size())];
                    for (int r = 0; r < perRound.length; r++) {
                        perRound[r] = on.get(r).value() / off.get(r).value();
                    }
                    double ofMedians = median(on.stream().mapToDouble(Sample::value).filter(Double::isFinite).toArray())
                            / median(off.stream().mapToDouble(Sample::value).filter(Double::isFinite).toArray());
                    costs.add(new Cost(p, metric, size, ofMedians, perRound));
                }
            }
        }
        return costs;
    }

    private static String key(Series s, Metric m, int size) {
        return s + "/" + m + "/" + size;
    }

    /** The median, NaN for none (every round of it failed). */
    static double median(double[] values) {
        return values.length == 0 ? Double.NaN : TcpBenchmark.median(values);
    }

    /** A measurement on a quiet machine, taken again (up to --retries) when others used the CPU meanwhile. */
    private static Sample undisturbed(Options options, Series s, Metric metric, int size, PerftestIterations iterations,
            PrintStream out) throws Exception {
        Sample sample = null;
        for (int attempt = 0; attempt <= options.retries(); attempt++) {
            UcxBenchmark.quiet(options.ucx());
            try {
                sample = measure(options, s, metric, size, iterations);
            } catch (IllegalStateException e) {
                // A stalled or failed pair must not end a long run: once more, then recorded as failed.
                sample = measureAgainOrFail(options, s, metric, size, iterations, e, out);
            }
            if (!(sample.foreignCores() > options.maxForeign())) {
                return sample;
            }
            out.printf(Locale.ROOT, "note: %s %s %d B disturbed (other processes used %.2f cores)%s%n", s.label(), metric.phase, size,
                    sample.foreignCores(), attempt < options.retries() ? "; measuring again" : "; kept");
        }
        return sample;
    }

    private static int failedMeasurements;

    private static Sample measureAgainOrFail(Options options, Series s, Metric metric, int size, PerftestIterations iterations,
            IllegalStateException first, PrintStream out) throws Exception {
        out.printf(Locale.ROOT, "note: %s %s %d B failed (%s); measuring again%n", s.label(), metric.phase, size,
                firstLine(first.getMessage()));
        try {
            return measure(options, s, metric, size, iterations);
        } catch (IllegalStateException e) {
            failedMeasurements++;
            out.printf(Locale.ROOT, "FAILED: %s %s %d B again (%s); recorded as n/a%n", s.label(), metric.phase, size,
                    firstLine(e.getMessage()));
            return new Sample(Double.NaN, Double.NaN, Double.NaN);
        }
    }

    private static String firstLine(String message) {
        String m = String.valueOf(message).strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    static Sample measure(Options options, Series s, Metric metric, int size, PerftestIterations iterations) throws Exception {
        if (s.layer().equals("raw") && s.transport().equals(UCX)) {
            return perftest(options, metric, size, iterations);
        }
        List<String> jvm = new ArrayList<>(options.ucx().jvmOptions());
        jvm.add("-D" + JitWarmup.MAX_EXTRA_PROPERTY + "=" + Math.round(options.jitSettle() * 1000));
        String main;
        String[] common;
        String policy = s.policy().isEmpty() ? options.policies().get(0) : s.policy();
        if (s.layer().equals("provider")) {
            main = UcxBenchmark.PEER;
            jvm.add("-Dsanswitch.bench.transport=" + s.transport());
            jvm.add("-Dsanswitch.bench.size=" + size);
            common = new String[] {metric.phase, String.valueOf(options.seconds()), String.valueOf(options.warmup()),
                String.valueOf(options.depth()), policy};
        } else {
            main = SWITCH_PEER;
            common = new String[] {s.layer(), s.transport(), metric.phase, String.valueOf(size), String.valueOf(options.seconds()),
                String.valueOf(options.warmup()), String.valueOf(options.depth()), policy};
        }
        UcxBenchmark.Options ucx = options.ucx();
        UcxBenchmark.Options withJvm = new UcxBenchmark.Options(ucx.seconds(), ucx.rounds(), ucx.tls(), ucx.depth(), ucx.policy(), 0,
                false, ucx.perftest(), ucx.verbose(), ucx.quietWait(), jvm, ucx.retries(), ucx.maxForeign(), ucx.warmup(), ucx.pin());
        Duration timeout = Duration.ofMillis((long) ((options.seconds() + options.warmup()) * 3000) + 60_000);
        try (Child server = Child.start(withJvm, "server", UcxBenchmark.DEFAULT_TLS, QUIET_UCX, main, prepend("server", common));
                ForeignLoad load = new ForeignLoad(server.process)) {
            String port = server.expect("PORT ", UcxBenchmark.START_TIMEOUT);
            try (Child client = Child.start(withJvm, "client", UcxBenchmark.DEFAULT_TLS, QUIET_UCX, main, append(prepend("client", common), port))) {
                load.add(client.process);
                Child measuring = metric == Metric.THROUGHPUT ? server : client;
                measuring.expect("START", timeout);
                long cpu0 = ProcessCpu.ticks(server.process) + ProcessCpu.ticks(client.process);
                String[] result = measuring.expect("RESULT ", timeout).split(" ");
                long cpu1 = ProcessCpu.ticks(server.process) + ProcessCpu.ticks(client.process);
                double foreign = load.foreignCores();
                client.send("stop");
                client.expect("STOPPED", Duration.ofSeconds(30));
                server.send("stop");
                server.expect("STOPPED", Duration.ofSeconds(30));
                client.send("close");
                client.expect("DONE", Duration.ofSeconds(30));
                client.awaitExit();
                server.send("close");
                server.expect("DONE", Duration.ofSeconds(30));
                server.awaitExit();
                double value = Double.parseDouble(result[0]);
                long bytes = Long.parseLong(result[1]);
                if (!(value > 0) || !Double.isFinite(value) || bytes <= 0) {
                    throw new IllegalStateException(s.label() + " " + metric.phase + " " + size + " B measured " + value);
                }
                double figure = metric == Metric.ROUND_TRIP ? 2 * value : value;
                return new Sample(figure, ProcessCpu.seconds(cpu1 - cpu0) / (bytes / GIB), foreign);
            }
        }
    }

    private static Sample perftest(Options options, Metric metric, int size, PerftestIterations iterations) throws Exception {
        long n = iterations.forRun(metric, size);
        UcxBenchmark.PerftestRun r;
        try {
            r = UcxBenchmark.perftest(options.ucx(), UcxBenchmark.DEFAULT_TLS, metric.perftest, size, "", Map.of(), n);
        } catch (IllegalStateException e) {
            if (!String.valueOf(e.getMessage()).contains("Address already in use")) {
                throw e;
            }
            // The free port probed was taken by another process before ucx_perftest bound it: once more.
            r = UcxBenchmark.perftest(options.ucx(), UcxBenchmark.DEFAULT_TLS, metric.perftest, size, "", Map.of(), n);
        }
        double bytes = (double) (n + UcxBenchmark.warmupIterations(n)) * size * (metric == Metric.ROUND_TRIP ? 2 : 1);
        double figure = metric == Metric.ROUND_TRIP ? 2 * r.value() : r.value(); // tag_lat reports one way
        return new Sample(figure, r.cpuSeconds() / (bytes / GIB), r.foreignCores());
    }

    /**
     * ucx_perftest's iteration counts, calibrated once per test and size by a short run so that a
     * measured run lasts about --seconds.
     */
    static final class PerftestIterations {
        private final Options options;
        private final Map<String, Long> calibrated = new LinkedHashMap<>();

        PerftestIterations(Options options) {
            this.options = options;
        }

        long forRun(Metric metric, int size) throws Exception {
            String key = metric + "/" + size;
            Long n = calibrated.get(key);
            if (n == null) {
                long probe = Math.max(16, Math.min(metric == Metric.THROUGHPUT ? 100_000 : 20_000,
                        (metric == Metric.THROUGHPUT ? 256L : 32L) * MIB / size));
                double value = UcxBenchmark.perftest(options.ucx(), UcxBenchmark.DEFAULT_TLS, metric.perftest, size, "", Map.of(),
                        probe).value();
                double perSecond = metric == Metric.THROUGHPUT ? value * MIB / size : 1e6 / (2 * value);
                n = Math.max(16, Math.round(options.seconds() * perSecond));
                calibrated.put(key, n);
            }
            return n;
        }
    }

    private static String[] prepend(String first, String... rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    private static String[] append(String[] first, String last) {
        String[] all = Arrays.copyOf(first, first.length + 1);
        all[first.length] = last;
        return all;
    }

    /** A process's CPU time from the OS: user + system clock ticks in /proc/PID/stat. */
    static final class ProcessCpu {
        private static final double TICKS_PER_SECOND = 100; // USER_HZ

        private ProcessCpu() {
        }

        static long ticks(Process p) throws IOException {
            String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        }

        static double seconds(long ticks) {
            return ticks / TICKS_PER_SECOND;
        }
    }
}
