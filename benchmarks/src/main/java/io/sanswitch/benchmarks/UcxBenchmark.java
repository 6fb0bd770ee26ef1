package io.sanswitch.benchmarks;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Two-process benchmark of the UCX backend through the provider engine against
 * {@code ucx_perftest} (Debian's {@code ucx-utils}), in the same run and with the same transports.
 * For each transport setting it alternates, round by round, {@code ucx_perftest} and sanswitch
 * measurements, and reports the medians with the targets:
 *
 * <ul>
 * <li>1 MiB streaming throughput at least 0.90 × {@code ucx_perftest -t tag_bw -s 1048576};
 * <li>8-byte one-way latency (half the round trip, as {@code tag_lat} reports it) at most
 *     2 × {@code ucx_perftest -t tag_lat -s 8};
 * <li>RDMA write of 1 MiB through the SPI ({@code registerRdmaMemory} on the server, the
 *     descriptor sent over the connection, {@code rdmaWrite} on the client) against
 *     {@code ucx_perftest -t ucp_put_bw -s 1048576}, as a plain ratio. ({@code -t put_bw} is UCT's
 *     put, which needs a UCT transport and device and does not exist on {@code tcp}; the SPI's
 *     RDMA write is a UCP put, so {@code ucp_put_bw} is its counterpart.)
 * </ul>
 *
 * <p>Every measurement runs across two processes on this machine over loopback: {@code ucx_perftest}
 * as server and client, sanswitch as two child JVMs ({@link EnginePeer}, same class path) with one
 * connection between them, each with {@code UCX_ERROR_SIGNALS} empty (UCX's signal handlers must
 * stay out of the JVM) and {@code UCX_TLS} as measured; this JVM itself never loads UCX, so it
 * needs no special environment. {@code --tls default,tcp} (the default) measures UCX's own choice
 * (shared memory between two processes of one host) and {@code UCX_TLS=tcp}. sanswitch keeps
 * {@code --depth} (default 4) sends, receives or RDMA writes of 1 MiB posted and reposts from the
 * completion upcall; {@code ucx_perftest} runs with its own default window unless
 * {@code --perftest-window} is given, and with iterations calibrated to about {@code --seconds}
 * (at least 1000 of 1 MiB: {@code ucp_put_bw} over {@code tcp}, a put emulated in software, stalls
 * for about a second per run, which would otherwise dominate a short run).
 * Missing a target is reported (PASS/MISS), not an error: the exit status is non-zero only when
 * something failed (1) or cannot run here (2).
 *
 * <p>Needs {@code libucx0} and {@code ucx-utils}:
 *
 * <pre>apt-get install -y libucx0 ucx-utils
 * mvn -B -q -pl benchmarks -am install -DskipTests
 * mvn -B -q -pl benchmarks exec:java@ucx -Dexec.args="--seconds 2 --rounds 5"</pre>
 *
 * <p>Options: {@code --seconds S} per measurement (2), {@code --rounds N} (5), {@code --tls a,b}
 * ({@code default,tcp}; {@code default} leaves {@code UCX_TLS} unset), {@code --depth N} (4),
 * {@code --policy busy-poll|wakeup|spin-then-wakeup|spin-briefly-then-wakeup} (the UCX progress thread's idle policy,
 * {@code spin-briefly-then-wakeup}), {@code --perftest-window N} ({@code -O}, 0 for its default),
 * {@code --diagnostics} (also {@code ucx_perftest} with {@code -e}, the peer error handling the UCX
 * transport asks for, which on UCX 1.13 rules out the shared-memory transports, and
 * {@code stream_bw}/{@code stream_lat} with {@code -e}, the data path of the transport when this
 * was written; and the throughput and latency straight on JUCX in two JVMs, see {@link Jucx}: the
 * reference column then holds that figure, not ucx_perftest's), {@code --perftest PATH}, {@code --verbose} (the peers' logs as they come; otherwise
 * only shown when a peer fails), {@code --quiet-wait S} (before each measurement wait up to S
 * seconds, default 120, for the machine to be idle; 0 to not wait), {@code --max-foreign C} and
 * {@code --retries N} (a measurement during which other processes used more than C cores, default
 * 0.2, is taken again up to N times, default 2; on two cores another busy process ruins a
 * busy-polling measurement), {@code --warmup S} (the peers' warm-up before each sanswitch and
 * JUCX measurement window, default 1: the JIT compiles the hot path meanwhile; ucx_perftest warms
 * up for a tenth of its iterations), {@code --smoke} (one round of 0.3 s after 0.2 s of warm-up,
 * no waiting for a quiet machine, no retries), {@code --jvm-opt OPTION} (repeatable: an option for the peers' JVMs, e.g. a flight
 * recording).
 */
public final class UcxBenchmark {
    static final String PEER = "io.sanswitch.benchmarks.EnginePeer";
    static final String JUCX_PEER = "io.sanswitch.benchmarks.JucxPeer";
    static final String DEFAULT_TLS = "default";
    static final int MIB = 1 << 20;
    static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    /** How long and what to measure. */
    public record Options(double seconds, int rounds, List<String> tls, int depth, String policy, int perftestWindow,
            boolean diagnostics, String perftest, boolean verbose, double quietWait, List<String> jvmOptions, int retries,
            double maxForeign, double warmup, boolean pin) {

        public Options {
            if (seconds <= 0 || rounds < 1 || depth < 1 || tls.isEmpty() || perftestWindow < 0 || quietWait < 0 || retries < 0
                    || maxForeign <= 0 || warmup < 0) {
                throw new IllegalArgumentException("seconds > 0, rounds >= 1, depth >= 1, at least one --tls, window >= 0, quiet wait >= 0");
            }
            tls = List.copyOf(tls);
            jvmOptions = List.copyOf(jvmOptions);
        }

        /** The defaults with a shorter time and fewer rounds. */
        public static Options of(double seconds, int rounds) {
            return parse(new String[] {"--seconds", String.valueOf(seconds), "--rounds", String.valueOf(rounds)});
        }

        static Options parse(String[] args) {
            double seconds = 2;
            int rounds = 5;
            List<String> tls = List.of(DEFAULT_TLS, "tcp");
            int depth = 4;
            String policy = "spin-briefly-then-wakeup";
            int window = 0;
            boolean diagnostics = false;
            String perftest = "ucx_perftest";
            boolean verbose = false;
            double quietWait = 120;
            List<String> jvmOptions = new ArrayList<>();
            int retries = 2;
            double maxForeign = 0.2;
            double warmup = 1;
            boolean pin = true;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                    case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                    case "--tls" -> tls = Arrays.stream(args[++i].split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
                    case "--depth" -> depth = Integer.parseInt(args[++i]);
                    case "--policy" -> policy = args[++i];
                    case "--perftest-window" -> window = Integer.parseInt(args[++i]);
                    case "--diagnostics" -> diagnostics = true;
                    case "--perftest" -> perftest = args[++i];
                    case "--verbose" -> verbose = true;
                    case "--quiet-wait" -> quietWait = Double.parseDouble(args[++i]);
                    case "--jvm-opt" -> jvmOptions.add(args[++i]);
                    case "--retries" -> retries = Integer.parseInt(args[++i]);
                    case "--max-foreign" -> maxForeign = Double.parseDouble(args[++i]);
                    case "--warmup" -> warmup = Double.parseDouble(args[++i]);
                    case "--no-pin" -> pin = false;
                    case "--smoke" -> {
                        seconds = 0.3;
                        rounds = 1;
                        warmup = 0.2;
                        quietWait = 0;
                        retries = 0;
                    }
                    default -> throw new IllegalArgumentException("usage: [--seconds S] [--rounds N] [--tls a,b] [--depth N] "
                            + "[--policy busy-poll|wakeup|spin-then-wakeup|spin-briefly-then-wakeup] [--perftest-window N] [--diagnostics] "
                            + "[--perftest PATH] [--verbose] [--quiet-wait S] [--retries N] [--max-foreign CORES] [--warmup S] "
                            + "[--jvm-opt OPTION]... [--no-pin] "
                            + "[--smoke]; got " + args[i]);
                }
            }
            return new Options(seconds, rounds, tls, depth, policy, window, diagnostics, perftest, verbose, quietWait, jvmOptions,
                    retries, maxForeign, warmup, pin);
        }
    }

    /**
     * The {@code ucx_perftest} runs: the three references of the targets, and with
     * {@code --diagnostics} the same with {@code -e} (peer error handling, which the UCX transport
     * asks for on every endpoint) and the stream API with {@code -e} (the data path the transport
     * had when this was written).
     */
    public enum Test {
        TAG_BW("tag_bw", MIB, ""),
        TAG_LAT("tag_lat", 8, ""),
        PUT_BW("ucp_put_bw", MIB, ""),
        TAG_BW_E("tag_bw", MIB, "-e"),
        STREAM_BW_E("stream_bw", MIB, "-e"),
        TAG_LAT_E("tag_lat", 8, "-e"),
        STREAM_LAT_E("stream_lat", 8, "-e"),
        PUT_BW_E("ucp_put_bw", MIB, "-e"),
        /**
         * {@code tag_bw -e} from memory like an application's ({@code UCX_ALLOC_PRIO=heap}): by
         * default ucx_perftest sends from shared memory UCX allocated, which the receiver can map
         * and copy from once; an application's buffer goes through the shared-memory FIFO.
         */
        TAG_BW_E_HEAP("tag_bw", MIB, "-e");

        static final List<Test> TARGETS = List.of(TAG_BW, TAG_LAT, PUT_BW);
        static final List<Test> DIAGNOSTICS = List.of(TAG_BW_E, TAG_BW_E_HEAP, STREAM_BW_E, TAG_LAT_E, STREAM_LAT_E, PUT_BW_E);

        final String name;
        final int size;
        final String flag;
        final boolean bandwidth;

        Test(String name, int size, String flag) {
            this.name = name;
            this.size = size;
            this.flag = flag;
            this.bandwidth = name.endsWith("_bw");
        }

        /** As on ucx_perftest's command line. */
        public String label() {
            return (flag.isEmpty() ? name : name + " " + flag) + (this == TAG_BW_E_HEAP ? " heap" : "");
        }

        /** The sanswitch measurement this one is the reference of. */
        Phase counterpart() {
            return name.equals("ucp_put_bw") ? Phase.RDMA_WRITE : bandwidth ? Phase.STREAM : Phase.PINGPONG;
        }

        /** Iterations per second, from a result in MiB/s or µs one way. */
        double rate(double figure) {
            return bandwidth ? figure * MIB / size : 1e6 / (2 * figure);
        }
    }

    /** The sanswitch measurements, each in a fresh pair of JVMs with one connection. */
    enum Phase {
        STREAM("stream", true),
        PINGPONG("pingpong", false),
        RDMA_WRITE("rdma-write", false);

        final String arg;
        final boolean serverMeasures;

        Phase(String arg, boolean serverMeasures) {
            this.arg = arg;
            this.serverMeasures = serverMeasures;
        }
    }

    /**
     * The diagnostic measurements straight on JUCX in two JVMs ({@code JucxPeer}): one thread
     * posting and busy-polling as {@code ucx_perftest} does, with the stream API and peer error
     * handling (the transport's data path without the engine), and with tagged messages with and
     * without peer error handling.
     */
    public enum Jucx {
        STREAM_E("stream", "peer"),
        TAG_E("tag", "peer"),
        TAG("tag", "none");

        final String api;
        final String errors;

        Jucx(String api, String errors) {
            this.api = api;
            this.errors = errors;
        }

        public String label() {
            return "jucx " + api + (errors.equals("peer") ? " -e" : "");
        }
    }

    /**
     * Medians over the rounds for one transport setting: MiB/s (as {@code ucx_perftest}'s "MB/s",
     * which is 2^20 bytes per second) and µs one way.
     *
     * @param reference the {@code ucx_perftest} medians (the diagnostics only when asked for)
     */
    public record Figures(String tls, Map<Test, Double> reference, double engineBw, double engineLat, double engineRdmaWrite,
            Map<Jucx, Double> jucxBw, Map<Jucx, Double> jucxLat) {
        public Figures {
            reference = Map.copyOf(reference);
            jucxBw = Map.copyOf(jucxBw);
            jucxLat = Map.copyOf(jucxLat);
        }

        public double tagBw() {
            return reference.get(Test.TAG_BW);
        }

        public double tagLat() {
            return reference.get(Test.TAG_LAT);
        }

        public double putBw() {
            return reference.get(Test.PUT_BW);
        }

        double engine(Phase phase) {
            return switch (phase) {
                case STREAM -> engineBw;
                case PINGPONG -> engineLat;
                case RDMA_WRITE -> engineRdmaWrite;
            };
        }
        public double throughputRatio() {
            return engineBw / tagBw();
        }

        public double latencyRatio() {
            return engineLat / tagLat();
        }

        public double rdmaWriteRatio() {
            return engineRdmaWrite / putBw();
        }

        public boolean throughputMet() {
            return throughputRatio() >= 0.90;
        }

        public boolean latencyMet() {
            return latencyRatio() <= 2.0;
        }
    }

    private UcxBenchmark() {
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (RuntimeException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Optional<String> unavailable = unavailable(options);
        if (unavailable.isPresent()) {
            System.err.println("cannot run: " + unavailable.get());
            System.exit(2);
        }
        try {
            System.out.printf(Locale.ROOT,
                    "UCX benchmark, two processes over loopback: %d rounds of %.1f s per measurement, %d cores, depth %d, "
                            + "progress policy %s, %s%n",
                    options.rounds(), options.seconds(), Runtime.getRuntime().availableProcessors(), options.depth(),
                    options.policy(), perftestVersion(options));
            List<Figures> all = run(options);
            System.out.println();
            printTable(all, System.out);
            if (disturbedMeasurements > 0) {
                System.out.printf(Locale.ROOT, "%d figures were measured while other processes used the CPU (see the notes above)%n",
                        disturbedMeasurements);
            }
            System.exit(0);
        } catch (Exception e) {
            System.err.println("benchmark failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /** Why the benchmark cannot run here, if it cannot. */
    public static Optional<String> unavailable(Options options) {
        if (executable(options.perftest()).isEmpty()) {
            return Optional.of(options.perftest() + " not found (apt-get install -y ucx-utils)");
        }
        if (UcxBenchmark.class.getClassLoader().getResource(PEER.replace('.', '/') + ".class") == null) {
            return Optional.of("the UCX peer and rdma-bundle are not on the class path (a partial build?)");
        }
        try {
            ProcessBuilder pb = new ProcessBuilder(javaCommand(options.jvmOptions(), PEER, "probe"));
            environment(pb, DEFAULT_TLS);
            pb.redirectErrorStream(true);
            Process p = pb.start();
            try {
                String out = readAll(p.getInputStream(), START_TIMEOUT);
                if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0 || !out.contains("UCX available")) {
                    return Optional.of("UCX is not usable in a JVM here: " + out.strip());
                }
            } finally {
                stop(p);
            }
        } catch (Exception e) {
            return Optional.of("cannot start a JVM: " + e);
        }
        return Optional.empty();
    }

    public static List<Figures> run(Options options) throws Exception {
        List<Figures> all = new ArrayList<>();
        for (String tls : options.tls()) {
            all.add(run(options, tls));
        }
        return all;
    }

    private static Figures run(Options options, String tls) throws Exception {
        List<Test> tests = new ArrayList<>(Test.TARGETS);
        if (options.diagnostics()) {
            tests.addAll(Test.DIAGNOSTICS);
        }
        // Calibration: a short ucx_perftest run per test gives the iteration rate, so that the
        // measured runs last about --seconds each.
        Map<Test, Long> iterations = new HashMap<>();
        for (Test t : tests) {
            double rate = t.rate(perftest(options, tls, t, t.bandwidth ? 100 : 10_000).value());
            // At least 1000 messages of 1 MiB: ucp_put_bw over tcp (a put emulated in software) stalls
            // for about a second per run, which a short run would take for its bandwidth.
            iterations.put(t, Math.max(t.bandwidth ? 1000 : 10_000, Math.round(options.seconds() * rate)));
        }
        Map<Test, double[]> ref = new LinkedHashMap<>();
        Map<Phase, double[]> eng = new LinkedHashMap<>();
        Map<Jucx, double[]> jucxBw = new LinkedHashMap<>();
        Map<Jucx, double[]> jucxLat = new LinkedHashMap<>();
        tests.forEach(t -> ref.put(t, new double[options.rounds()]));
        for (Phase p : Phase.values()) {
            eng.put(p, new double[options.rounds()]);
        }
        for (int i = 0; i < options.rounds(); i++) {
            for (Test t : Test.TARGETS) {
                Phase p = t.counterpart();
                // Alternate which goes first so drift in the machine does not favour one side.
                long n = iterations.get(t);
                if (i % 2 == 0) {
                    ref.get(t)[i] = undisturbed(options, t.label(), () -> perftest(options, tls, t, n));
                    eng.get(p)[i] = undisturbed(options, "sanswitch " + p.arg, () -> engine(options, tls, p));
                } else {
                    eng.get(p)[i] = undisturbed(options, "sanswitch " + p.arg, () -> engine(options, tls, p));
                    ref.get(t)[i] = undisturbed(options, t.label(), () -> perftest(options, tls, t, n));
                }
            }
            StringBuilder diagnostics = new StringBuilder();
            if (options.diagnostics()) {
                for (Test t : Test.DIAGNOSTICS) {
                    long n = iterations.get(t);
                    ref.get(t)[i] = undisturbed(options, t.label(), () -> perftest(options, tls, t, n));
                    diagnostics.append(String.format(Locale.ROOT, "; %s %s", t.label(), fmt(ref.get(t)[i], t.bandwidth ? 1 : 3)));
                }
                for (Jucx j : Jucx.values()) {
                    jucxBw.computeIfAbsent(j, k -> new double[options.rounds()])[i] =
                            undisturbed(options, j.label(), () -> jucx(options, tls, j, Phase.STREAM));
                    jucxLat.computeIfAbsent(j, k -> new double[options.rounds()])[i] =
                            undisturbed(options, j.label(), () -> jucx(options, tls, j, Phase.PINGPONG));
                    diagnostics.append(String.format(Locale.ROOT, "; %s %s MiB/s %s µs", j.label(), fmt(jucxBw.get(j)[i], 1),
                            fmt(jucxLat.get(j)[i], 3)));
                }
            }
            System.out.printf(Locale.ROOT,
                    "round %d [%s]: tag_bw %.1f / sanswitch %.1f MiB/s; tag_lat %.3f / sanswitch %.3f µs; "
                            + "ucp_put_bw %.1f / sanswitch rdmaWrite %.1f MiB/s%s%n",
                    i + 1, label(tls), ref.get(Test.TAG_BW)[i], eng.get(Phase.STREAM)[i], ref.get(Test.TAG_LAT)[i],
                    eng.get(Phase.PINGPONG)[i], ref.get(Test.PUT_BW)[i], eng.get(Phase.RDMA_WRITE)[i], diagnostics);
        }
        Map<Test, Double> medians = new LinkedHashMap<>();
        ref.forEach((t, v) -> medians.put(t, median(v)));
        Map<Jucx, Double> jb = new LinkedHashMap<>();
        Map<Jucx, Double> jl = new LinkedHashMap<>();
        jucxBw.forEach((j, v) -> jb.put(j, median(v)));
        jucxLat.forEach((j, v) -> jl.put(j, median(v)));
        return new Figures(tls, medians, median(eng.get(Phase.STREAM)), median(eng.get(Phase.PINGPONG)),
                median(eng.get(Phase.RDMA_WRITE)), jb, jl);
    }

    /**
     * Waits (at most {@code --quiet-wait} seconds) until the machine is idle: on two cores one
     * busy process elsewhere halves what two busy-polling peers can do. Measures anyway after the
     * wait, with a note.
     */
    static void quiet(Options options) throws Exception {
        if (options.quietWait() == 0 || !Files.isReadable(PROC_STAT)) {
            return;
        }
        long deadline = System.nanoTime() + (long) (options.quietWait() * 1e9);
        double busy = 1;
        int quietSamples = 0;
        while (System.nanoTime() - deadline < 0) {
            busy = busyFraction(Duration.ofMillis(250));
            quietSamples = busy < 0.10 ? quietSamples + 1 : 0;
            if (quietSamples >= 2) {
                return;
            }
        }
        System.out.printf(Locale.ROOT, "note: the machine is still %.0f %% busy after %.0f s of waiting; measuring anyway%n", busy * 100,
                options.quietWait());
    }

    /** A figure and the CPU that processes not of this measurement used meanwhile, in cores. */
    record Measured(double value, double foreignCores) {
    }

    @FunctionalInterface
    interface Measurement {
        Measured run() throws Exception;
    }

    /**
     * Runs a measurement on a quiet machine and again (up to {@code --retries} times) when other
     * processes used more than {@code --max-foreign} cores meanwhile; a figure still disturbed
     * after that is kept and counted.
     */
    static double undisturbed(Options options, String what, Measurement m) throws Exception {
        Measured r = null;
        for (int attempt = 0; attempt <= options.retries(); attempt++) {
            quiet(options);
            r = m.run();
            if (!(r.foreignCores() > options.maxForeign())) {
                return r.value();
            }
            System.out.printf(Locale.ROOT, "note: %s disturbed (other processes used %.2f cores meanwhile)%s%n", what,
                    r.foreignCores(), attempt < options.retries() ? "; measuring again" : "; kept");
        }
        disturbedMeasurements++;
        return r.value();
    }

    private static int disturbedMeasurements;

    /**
     * The CPU time used on this machine by processes other than the watched ones, their descendants
     * and this JVM while they run: /proc/stat's busy time minus theirs from /proc/PID/stat, sampled
     * every 100 ms (the last interval of a process that ended counts as foreign). NaN where /proc is
     * not readable.
     */
    static final class ForeignLoad implements AutoCloseable {
        private static final long TICKS_PER_SECOND = 100; // USER_HZ
        private final List<ProcessHandle> ours = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final Thread sampler;
        private volatile boolean done;
        private long foreignTicks;
        private long nanos;

        ForeignLoad(Process first) {
            ours.add(ProcessHandle.current());
            ours.add(first.toHandle());
            sampler = new Thread(this::sample, "foreign-load");
            sampler.setDaemon(true);
            sampler.start();
        }

        void add(Process p) {
            ours.add(p.toHandle());
        }

        private void sample() {
            try {
                Snapshot before = snapshot();
                long t0 = System.nanoTime();
                while (!done) {
                    Thread.sleep(100);
                    Snapshot after = snapshot();
                    long t1 = System.nanoTime();
                    if (before != null && after != null) {
                        long own = 0;
                        for (Map.Entry<Long, Long> e : after.ticks().entrySet()) {
                            Long was = before.ticks().get(e.getKey());
                            own += e.getValue() - (was == null ? 0 : was);
                        }
                        synchronized (this) {
                            foreignTicks += Math.max(0, after.busy() - before.busy() - own);
                            nanos += t1 - t0;
                        }
                    }
                    before = after;
                    t0 = t1;
                }
            } catch (InterruptedException | RuntimeException e) {
                // stops sampling
            }
        }

        /** The machine's busy ticks and, per process, its own ticks. */
        private record Snapshot(long busy, Map<Long, Long> ticks) {
        }

        /**
         * The machine's busy ticks, then the ticks of each watched process and of its descendants
         * (ucx_perftest runs under bash and taskset, whose own ticks are not the tool's); a process
         * that ended meanwhile is left out; null if /proc cannot be read.
         */
        private Snapshot snapshot() {
            try {
                long busy = 0;
                long[] cpu = cpuTimes();
                for (int i = 0; i < cpu.length; i++) {
                    if (i != 3 && i != 4) { // idle, iowait
                        busy += cpu[i];
                    }
                }
                Map<Long, Long> ticks = new HashMap<>();
                for (ProcessHandle p : ours) {
                    ownTicks(p, ticks);
                    p.descendants().forEach(d -> ownTicks(d, ticks));
                }
                return new Snapshot(busy, ticks);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        private static void ownTicks(ProcessHandle p, Map<Long, Long> into) {
            try {
                String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                into.put(p.pid(), Long.parseLong(f[11]) + Long.parseLong(f[12])); // utime, stime
            } catch (IOException | RuntimeException gone) {
                // ended between the listing and the read: its last interval is not counted
            }
        }

        /** Other processes' CPU so far, in cores (NaN if nothing could be sampled). */
        synchronized double foreignCores() {
            return nanos == 0 ? Double.NaN : foreignTicks / (double) TICKS_PER_SECOND / (nanos / 1e9);
        }

        @Override
        public void close() {
            done = true;
        }
    }

    private static final Path PROC_STAT = Path.of("/proc/stat");

    /** The fraction of all CPU time that was not idle over {@code window}, from /proc/stat. */
    private static double busyFraction(Duration window) throws Exception {
        long[] a = cpuTimes();
        Thread.sleep(window.toMillis());
        long[] b = cpuTimes();
        long total = 0;
        for (int i = 0; i < a.length; i++) {
            total += b[i] - a[i];
        }
        long idle = (b[3] - a[3]) + (a.length > 4 ? b[4] - a[4] : 0);
        return total <= 0 ? 0 : 1 - (double) idle / total;
    }

    private static long[] cpuTimes() throws IOException {
        String[] f = Files.readAllLines(PROC_STAT).get(0).trim().split("\\s+");
        long[] t = new long[Math.min(8, f.length - 1)];
        for (int i = 0; i < t.length; i++) {
            t[i] = Long.parseLong(f[i + 1]);
        }
        return t;
    }

    static void printTable(List<Figures> all, java.io.PrintStream out) {
        String row = "%-9s %-36s %-11s %13s %12s %8s  %s%n";
        out.printf(Locale.ROOT, row, "UCX_TLS", "measurement (median)", "reference", "ucx_perftest", "sanswitch", "ratio", "target");
        for (Figures f : all) {
            String tls = label(f.tls());
            out.printf(Locale.ROOT, row, tls, "1 MiB streaming throughput (MiB/s)", "tag_bw", fmt(f.tagBw(), 1), fmt(f.engineBw(), 1),
                    fmt(f.throughputRatio(), 3), ">= 0.90  " + (f.throughputMet() ? "PASS" : "MISS"));
            out.printf(Locale.ROOT, row, tls, "8-byte one-way latency (µs)", "tag_lat", fmt(f.tagLat(), 3), fmt(f.engineLat(), 3),
                    fmt(f.latencyRatio(), 3), "<= 2.00  " + (f.latencyMet() ? "PASS" : "MISS"));
            out.printf(Locale.ROOT, row, tls, "1 MiB RDMA write (MiB/s)", "ucp_put_bw", fmt(f.putBw(), 1), fmt(f.engineRdmaWrite(), 1),
                    fmt(f.rdmaWriteRatio(), 3), "(ratio only)");
            for (Test t : Test.DIAGNOSTICS) {
                Double r = f.reference().get(t);
                if (r != null) {
                    double e = f.engine(t.counterpart());
                    out.printf(Locale.ROOT, row, tls, "  " + switch (t.counterpart()) {
                        case STREAM -> "same throughput";
                        case PINGPONG -> "same latency";
                        case RDMA_WRITE -> "same RDMA write";
                    }, t.label(), fmt(r, t.bandwidth ? 1 : 3), fmt(e, t.bandwidth ? 1 : 3), fmt(e / r, 3), "(diagnostic)");
                }
            }
            for (Jucx j : Jucx.values()) {
                Double bw = f.jucxBw().get(j);
                if (bw != null) {
                    out.printf(Locale.ROOT, row, tls, "  same throughput", j.label(), fmt(bw, 1), fmt(f.engineBw(), 1),
                            fmt(f.engineBw() / bw, 3), "(diagnostic)");
                }
            }
            for (Jucx j : Jucx.values()) {
                Double lat = f.jucxLat().get(j);
                if (lat != null) {
                    out.printf(Locale.ROOT, row, tls, "  same latency", j.label(), fmt(lat, 3), fmt(f.engineLat(), 3),
                            fmt(f.engineLat() / lat, 3), "(diagnostic)");
                }
            }
        }
    }

    private static String fmt(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static String label(String tls) {
        return tls.equals(DEFAULT_TLS) ? "default" : tls;
    }

    static double median(double[] values) {
        return TcpBenchmark.median(values);
    }

    // ------------------------------------------------------------------ ucx_perftest

    /**
     * One {@code ucx_perftest} run, server and client on loopback.
     *
     * @return the client's overall figure: MiB/s for a bandwidth test, µs one way for a latency test
     */
    static Measured perftest(Options options, String tls, Test test, long iterations) throws Exception {
        Map<String, String> env = new HashMap<>();
        if (test.flag.equals("-e")) {
            // With -e (peer error handling) shared memory as the UCX transport has it: UCX 1.13's
            // posix and sysv transports offer it only when asked.
            env.put("UCX_MM_ERROR_HANDLING", "y");
        }
        if (test == Test.TAG_BW_E_HEAP) {
            env.put("UCX_ALLOC_PRIO", "heap");
        }
        PerftestRun r = perftest(options, tls, test.name, test.size, test.flag, env, iterations);
        return new Measured(r.value(), r.foreignCores());
    }

    /**
     * One {@code ucx_perftest} run: its figure (MiB/s or µs one way), the CPU others used meanwhile
     * (cores), and the CPU time server and client used, start-up and warm-up included (seconds;
     * NaN where bash is missing to count it).
     */
    record PerftestRun(double value, double foreignCores, double cpuSeconds) {
    }

    /**
     * One {@code ucx_perftest} run of {@code name} ({@code tag_bw}, {@code tag_lat}, ...) with
     * messages of {@code size} bytes, server and client on loopback.
     */
    static PerftestRun perftest(Options options, String tls, String name, int size, String flag, Map<String, String> env,
            long iterations) throws Exception {
        String exe = executable(options.perftest()).orElseThrow();
        boolean bandwidth = name.endsWith("_bw");
        int port = TcpBenchmark.freeAddress().getPort();
        List<String> args = new ArrayList<>(List.of("-t", name, "-s", String.valueOf(size), "-n", String.valueOf(iterations),
                "-w", String.valueOf(warmupIterations(iterations)), "-f", "-p", String.valueOf(port)));
        if (!flag.isEmpty()) {
            args.add(flag);
        }
        if (options.perftestWindow() > 0 && bandwidth) {
            args.addAll(List.of("-O", String.valueOf(options.perftestWindow())));
        }
        List<String> serverCommand = new ArrayList<>(List.of(exe));
        serverCommand.addAll(args);
        serverCommand = cpuTimed(pinned(options, "server", serverCommand));
        List<String> clientCommand = new ArrayList<>(List.of(exe, "127.0.0.1"));
        clientCommand.addAll(args);
        clientCommand = cpuTimed(pinned(options, "client", clientCommand));

        Path serverLog = Files.createTempFile("ucx_perftest-server", ".log");
        ProcessBuilder sb = new ProcessBuilder(serverCommand).redirectErrorStream(true).redirectOutput(serverLog.toFile());
        environment(sb, tls);
        sb.environment().putAll(env);
        Process server = sb.start();
        Process client = null;
        try (ForeignLoad load = new ForeignLoad(server)) {
            awaitListening(port, server);
            ProcessBuilder cb = new ProcessBuilder(clientCommand).redirectErrorStream(true);
            environment(cb, tls);
            cb.environment().putAll(env);
            client = cb.start();
            load.add(client);
            String out = readAll(client.getInputStream(), timeout(options));
            double foreign = load.foreignCores();
            if (!client.waitFor(30, TimeUnit.SECONDS) || client.exitValue() != 0) {
                throw new IllegalStateException(command(tls, clientCommand) + " failed: " + out.strip() + "; server: "
                        + Files.readString(serverLog).strip());
            }
            if (!server.waitFor(30, TimeUnit.SECONDS) || server.exitValue() != 0) {
                throw new IllegalStateException(command(tls, serverCommand) + " failed: " + Files.readString(serverLog).strip());
            }
            double[] numbers = finalLine(out);
            double cpu = childCpuSeconds(out) + childCpuSeconds(Files.readString(serverLog));
            return new PerftestRun(bandwidth ? numbers[5] : numbers[3], foreign, cpu);
        } finally {
            stop(client);
            stop(server);
            Files.deleteIfExists(serverLog);
        }
    }

    /** ucx_perftest's warm-up iterations ({@code -w}) for a run of {@code iterations}. */
    static long warmupIterations(long iterations) {
        return Math.max(10, iterations / 10);
    }

    /**
     * The command run by bash, which then prints its children's CPU time ({@code times}): exact,
     * where sampling /proc would miss the last moments of a process that has ended. Unchanged
     * without bash.
     */
    private static List<String> cpuTimed(List<String> command) {
        Optional<String> bash = executable("bash");
        if (bash.isEmpty()) {
            return command;
        }
        List<String> timed = new ArrayList<>(List.of(bash.get(), "-c", "\"$@\"; s=$?; times >&2; exit $s", "cpu-timed"));
        timed.addAll(command);
        return timed;
    }

    private static final java.util.regex.Pattern TIMES =
            java.util.regex.Pattern.compile("(?m)^(\\d+)m([\\d.]+)s (\\d+)m([\\d.]+)s$");

    /** The children's user + system seconds from bash's {@code times} (its second line), NaN if absent. */
    static double childCpuSeconds(String output) {
        java.util.regex.Matcher m = TIMES.matcher(output);
        double last = Double.NaN;
        int lines = 0;
        while (m.find()) {
            lines++;
            last = Integer.parseInt(m.group(1)) * 60 + Double.parseDouble(m.group(2)) + Integer.parseInt(m.group(3)) * 60
                    + Double.parseDouble(m.group(4));
        }
        return lines >= 2 ? last : Double.NaN;
    }

    /**
     * The numbers of {@code ucx_perftest -f}'s final line: iterations, typical (percentile)
     * latency, average latency, overall latency (µs), average and overall bandwidth (MB/s, i.e.
     * MiB/s), average and overall message rate.
     */
    static double[] finalLine(String output) {
        String[] lines = output.split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String[] tokens = lines[i].trim().split("\\s+");
            if (tokens.length == 8) {
                try {
                    return Arrays.stream(tokens).mapToDouble(UcxBenchmark::perftestNumber).toArray();
                } catch (NumberFormatException e) {
                    // not the result line
                }
            }
        }
        throw new IllegalStateException("no result line in ucx_perftest's output: " + output.strip());
    }

    /**
     * A number as ucx_perftest prints it (C's {@code %f}): its averages over a report interval in which no
     * iteration ended are {@code inf} (seen on a loaded machine), which {@link Double#parseDouble} refuses.
     */
    private static double perftestNumber(String token) {
        return switch (token) {
            case "inf", "+inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            case "nan", "-nan" -> Double.NaN;
            default -> Double.parseDouble(token);
        };
    }

    private static String command(String tls, List<String> command) {
        return (tls.equals(DEFAULT_TLS) ? "" : "UCX_TLS=" + tls + " ") + String.join(" ", command);
    }

    /** Waits until something listens on {@code port} (the perftest server), from /proc/net/tcp. */
    private static void awaitListening(int port, Process server) throws Exception {
        String needle = String.format(Locale.ROOT, ":%04X ", port);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Path tcp = Path.of("/proc/net/tcp");
        Path tcp6 = Path.of("/proc/net/tcp6");
        if (!Files.isReadable(tcp)) {
            Thread.sleep(500);
            return;
        }
        while (System.nanoTime() - deadline < 0) {
            if (!server.isAlive()) {
                throw new IllegalStateException("ucx_perftest server exited with " + server.exitValue());
            }
            for (Path p : List.of(tcp, tcp6)) {
                if (Files.isReadable(p)) {
                    for (String line : Files.readAllLines(p)) {
                        String[] f = line.trim().split("\\s+");
                        if (f.length > 3 && (f[1] + " ").endsWith(needle) && f[3].equals("0A")) {
                            return;
                        }
                    }
                }
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("ucx_perftest server did not listen on port " + port + " within 30 s");
    }

    private static String perftestVersion(Options options) {
        try {
            Process p = new ProcessBuilder(executable("ucx_info").orElse("ucx_info"), "-v").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out.lines().filter(l -> l.contains("Version")).findFirst().map(l -> "UCX " + l.replace("# Version", "").trim())
                    .orElse("UCX version unknown");
        } catch (IOException | InterruptedException e) {
            return "UCX version unknown";
        }
    }

    /**
     * The command pinned to a core of its own ({@code taskset}): the server side to the first of
     * this process's cores, the client side to the second, for ucx_perftest and sanswitch alike.
     * On two cores two busy-polling processes otherwise land on one core now and then, and a
     * measurement swings by a factor of three (seen: 3061 to 12166 MiB/s for the same tag_bw).
     * Unchanged with {@code --no-pin}, with fewer than two cores or without taskset.
     */
    static List<String> pinned(Options options, String role, List<String> command) {
        List<Integer> cores = PinCores.CORES;
        Optional<String> taskset = executable("taskset");
        if (!options.pin() || cores.size() < 2 || taskset.isEmpty()) {
            return command;
        }
        List<String> pinned = new ArrayList<>(List.of(taskset.get(), "-c", String.valueOf(cores.get(role.equals("server") ? 0 : 1))));
        pinned.addAll(command);
        return pinned;
    }

    /** The cores this process may run on, in order (from /proc/self/status), or none if unknown. */
    private static final class PinCores {
        static final List<Integer> CORES = read();

        private static List<Integer> read() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("Cpus_allowed_list:")) {
                        List<Integer> cores = new ArrayList<>();
                        for (String range : line.substring(line.indexOf(':') + 1).trim().split(",")) {
                            String[] ends = range.split("-");
                            int from = Integer.parseInt(ends[0].trim());
                            int to = ends.length > 1 ? Integer.parseInt(ends[1].trim()) : from;
                            for (int c = from; c <= to; c++) {
                                cores.add(c);
                            }
                        }
                        return cores;
                    }
                }
            } catch (IOException | RuntimeException e) {
                // unknown: not pinned
            }
            return List.of();
        }
    }

    static Optional<String> executable(String name) {
        if (name.contains("/")) {
            return Files.isExecutable(Path.of(name)) ? Optional.of(name) : Optional.empty();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return Optional.of(p.toString());
            }
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------ sanswitch in two JVMs

    /**
     * One sanswitch measurement: a server JVM and a client JVM with one connection; the measuring
     * side reports, then the client stops and lets its operations finish, the server stops, and
     * both close and clean up.
     */
    static Measured engine(Options options, String tls, Phase phase) throws Exception {
        return twoJvms(options, tls, PEER, phase, options.policy());
    }

    /** The same measurement straight on JUCX ({@link Jucx}), for the diagnostics. */
    static Measured jucx(Options options, String tls, Jucx jucx, Phase phase) throws Exception {
        return twoJvms(options, tls, JUCX_PEER, phase, jucx.api, jucx.errors);
    }

    private static Measured twoJvms(Options options, String tls, String main, Phase phase, String... extra) throws Exception {
        String[] common = {phase.arg, String.valueOf(options.seconds()), String.valueOf(options.warmup()),
                String.valueOf(options.depth())};
        for (String e : extra) {
            common = concat(common, e);
        }
        try (Child server = Child.start(options, "server", tls, main, concat("server", common));
                ForeignLoad load = new ForeignLoad(server.process)) {
            String port = server.expect("PORT ", START_TIMEOUT);
            try (Child client = Child.start(options, "client", tls, main, concat(concat("client", common), port))) {
                load.add(client.process);
                double value = Double.parseDouble((phase.serverMeasures ? server : client).expect("RESULT ", timeout(options)).split(" ")[0]);
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
                if (!(value > 0) || !Double.isFinite(value)) {
                    throw new IllegalStateException(phase.arg + " measured " + value);
                }
                return new Measured(value, foreign);
            }
        }
    }

    private static String[] concat(String first, String... rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    private static String[] concat(String[] first, String last) {
        String[] all = Arrays.copyOf(first, first.length + 1);
        all[first.length] = last;
        return all;
    }

    private static Duration timeout(Options options) {
        return Duration.ofMillis((long) (options.seconds() * 1000 * 3) + 60_000);
    }

    /** The environment of every measured process: UCX's error signals off, {@code UCX_TLS} as measured. */
    static void environment(ProcessBuilder pb, String tls) {
        Map<String, String> env = pb.environment();
        env.put("UCX_ERROR_SIGNALS", "");
        if (tls.equals(DEFAULT_TLS)) {
            env.remove("UCX_TLS");
        } else {
            env.put("UCX_TLS", tls);
        }
    }

    static List<String> javaCommand(List<String> jvmOptions, String main, String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classpath(), main));
        command.addAll(List.of(args));
        return command;
    }

    /**
     * This program's class path: its class loader's URLs under {@code exec:java} (which loads the
     * project into a URLClassLoader inside Maven), else {@code java.class.path}.
     */
    static String classpath() {
        if (UcxBenchmark.class.getClassLoader() instanceof URLClassLoader loader && loader.getURLs().length > 0) {
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

    private static String readAll(InputStream in, Duration timeout) throws Exception {
        StringBuilder out = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null;) {
                    synchronized (out) {
                        out.append(line).append('\n');
                    }
                }
            } catch (IOException e) {
                // the process went away
            }
        }, "perftest-output");
        reader.setDaemon(true);
        reader.start();
        reader.join(timeout.toMillis());
        if (reader.isAlive()) {
            throw new IllegalStateException("ucx_perftest did not finish within " + timeout.toSeconds() + " s: " + out);
        }
        synchronized (out) {
            return out.toString();
        }
    }

    private static void stop(Process p) throws InterruptedException {
        if (p != null && p.isAlive()) {
            p.destroy();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * A child JVM running a peer: its protocol lines queued; its log (standard error, and the other
     * lines of standard output, where UCX logs) kept and shown when it fails, or passed on at once
     * with {@code --verbose}.
     */
    static final class Child implements AutoCloseable {
        private static final String EOF = new String("<end of output>");
        private static final int LOG_LINES = 300;
        final String name;
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final Deque<String> log = new ArrayDeque<>();
        final Writer in;
        final boolean verbose;

        private Child(String name, Process process, boolean verbose) {
            this.name = name;
            this.process = process;
            this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            pump(process.getInputStream(), line -> lines.add(line), true);
            this.verbose = verbose;
            pump(process.getErrorStream(), this::logLine, false);
        }

        private void logLine(String line) {
            if (verbose) {
                System.err.println("[" + name + "] " + line);
            } else {
                synchronized (log) {
                    log.add(line);
                    if (log.size() > LOG_LINES) {
                        log.removeFirst();
                    }
                }
            }
        }

        static Child start(Options options, String name, String tls, String main, String... args) throws IOException {
            return start(options, name, tls, Map.of(), main, args);
        }

        /** With {@code env} added to the measured environment. */
        static Child start(Options options, String name, String tls, Map<String, String> env, String main, String... args)
                throws IOException {
            ProcessBuilder pb = new ProcessBuilder(pinned(options, name, javaCommand(options.jvmOptions(), main, args)));
            environment(pb, tls);
            pb.environment().putAll(env);
            return new Child(name, pb.start(), options.verbose());
        }

        private IllegalStateException failure(String what) {
            String tail;
            synchronized (log) {
                tail = log.isEmpty() ? "" : "\n" + name + "'s log:\n  " + String.join("\n  ", log);
            }
            return new IllegalStateException(name + ": " + what + tail);
        }

        private void pump(InputStream stream, java.util.function.Consumer<String> sink, boolean markEnd) {
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null;) {
                        sink.accept(line);
                    }
                } catch (IOException e) {
                    // the process went away
                } finally {
                    if (markEnd) {
                        lines.add(EOF);
                    }
                }
            }, "ucx-bench-" + name);
            t.setDaemon(true);
            t.start();
        }

        /** The rest of the next line that starts with {@code prefix}; other lines are shown. */
        String expect(String prefix, Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null) {
                    throw failure("no '" + prefix.trim() + "' within " + timeout.toSeconds() + " s");
                }
                if (line == EOF) {
                    process.waitFor(10, TimeUnit.SECONDS);
                    Thread.sleep(100); // the rest of its log
                    throw failure("ended (exit " + (process.isAlive() ? "?" : process.exitValue()) + ") before '" + prefix.trim() + "'");
                }
                if (line.startsWith("ERROR")) {
                    Thread.sleep(100);
                    throw failure(line);
                }
                if (line.startsWith(prefix)) {
                    return line.substring(prefix.length()).trim();
                }
                // Anything else is log (UCX logs to standard output): kept like standard error.
                logLine(line);
            }
        }

        void send(String line) throws IOException {
            in.write(line + "\n");
            in.flush();
        }

        void awaitExit() throws InterruptedException {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw failure("did not exit within 30 s");
            }
            if (process.exitValue() != 0) {
                Thread.sleep(100);
                throw failure("exited with " + process.exitValue());
            }
        }

        /** Closes its input (the peer then ends) and makes sure the process is gone. */
        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException e) {
                // already gone
            }
            try {
                if (process.isAlive() && !process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
