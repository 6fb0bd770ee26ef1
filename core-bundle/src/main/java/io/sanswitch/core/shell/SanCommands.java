package io.sanswitch.core.shell;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.core.CleanupRecord;
import io.sanswitch.core.EngineDiagnostics;
import io.sanswitch.core.ProviderStatus;
import io.sanswitch.core.SocketStatus;
import io.sanswitch.core.console.SanConsole;
import io.sanswitch.api.SocketSwitch;
import io.sanswitch.core.switcher.view.SocketReasons;
import io.sanswitch.core.switcher.view.SwitchView;

/**
 * The text of the {@code san:*} commands ({@link SanConsole}): aligned tables, messages, usage help.
 * The shells' front ends only print it: {@link GogoCommands} as plain Gogo functions (Felix Gogo),
 * the bundle {@code io.sanswitch.shell.karaf} as Karaf commands with completion.
 *
 * <p>It tracks every {@link EngineDiagnostics} service (each engine of this bundle registers one
 * beside its provider service), and keeps the cleanup history of the last few retired ones (a
 * stopped or updated backend) so that their final cleanup stays visible in {@code
 * san:cleanup-history} after their service is gone: the history alone, never the engine, which
 * references the retired bundle revision's transport (docs/architecture.md, hot swap).
 */
@Component(service = SanConsole.class, immediate = true)
public final class SanCommands implements SanConsole {
    private static final Logger LOG = LoggerFactory.getLogger(SanCommands.class);

    /** Retired providers whose history is kept; a hot-swap every few seconds still shows its trail. */
    static final int RETIRED_KEPT = 8;
    static final int HISTORY_SHOWN = 16;
    static final int MAX_BENCH_SECONDS = 60;
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS", Locale.ROOT);

    static final String PROVIDERS_USAGE = """
            Usage: san:providers
              Lists the registered SAN service providers: backend, service id, lifecycle state
              (IDLE, STARTING, RUNNING, CLEANING_UP), reference count (outstanding startups), open
              sockets, pending overlapped operations, startup generation and final cleanups run.
              The open sockets include the switch's own, its resume ports (while migrate is on):
              a line below the table counts them, san:switch lists them.
            """;
    static final String SOCKETS_USAGE = """
            Usage: san:sockets [provider]
              Lists the open sockets of every provider (or of one: ucx, tcp): descriptor, switch
              handle, role, local and peer address, bytes received and sent by completed
              transfers, pending operations, and why the switch chose that provider, then each
              move of a connection that moved (moved ucx -> tcp (provider withdrawn, paused 12 ms)):
              the last 16, those before counted in their place (… 3,980 earlier moves …).
            """;
    static final String BENCH_USAGE = """
            Usage: san:bench [provider] [seconds]
              Connects over loopback through the switch, pinned to one provider (a listener and a
              connect that both name it), and measures a one-way stream of checked 1 MiB chunks
              (bytes, rate) and 64-byte echoes (round trip); then the process's memory idle before
              the connection, with it open, and idle after the traffic (resident and anonymous
              bytes from /proc/self/status, direct buffers not yet collected). provider: ucx, tcp,
              ... (default: ucx if registered, else the first); seconds: 1 to %d (default 2).
            """.formatted(MAX_BENCH_SECONDS);
    static final String HISTORY_USAGE = """
            Usage: san:cleanup-history [provider]
              The last final cleanups (at most %d, oldest first), also of providers retired since:
              when, provider, service id, generation ended, reason, operations aborted, sockets
              reset (the switch's own resume port among them while migrate is on), duration,
              result (0, or the Winsock error such as 10050 WSAENETDOWN).
            """.formatted(HISTORY_SHOWN);

    static final String SWITCH_USAGE = """
            Usage: san:switch
              The switch's settings in force and where each came from (PID io.sanswitch.switch, the
              RDMA provider's published subnets sanswitch.san.subnets, or the default), then the
              providers it has bound: role for new connections, capabilities, published subnets;
              then the switch's own resume ports (while migrate is on; no application's listener):
              the port announced to peers, the provider, the port it listens at, what for.
            """;
    static final String ROUTE_USAGE = """
            Usage: san:route HOST:PORT
              What a connect to that peer would do now, without connecting (like ip route get): the
              provider of the first attempt, the switch's reason (SAN_SUBNET, NOT_ON_SAN_SUBNET,
              RDMA_PROVIDER_DOWN, RECENT_RDMA_FAILURE with the time it still counts) and the address
              it connects to. HOST is a literal IPv4 address or an IPv6 one in brackets, quoted
              for the shell (10.20.0.7:5000, '[fd00::7]:5000'); no host name is looked up.
            """;

    /** A provider as the commands know it. */
    record Tracked(EngineDiagnostics engine, long serviceId) {
        Trail trail() {
            return new Trail(engine.transportName(), serviceId, engine.cleanupHistoryView());
        }
    }

    /** What is kept of a retired provider: plain values and its history's records. */
    record Trail(String provider, long serviceId, Supplier<List<CleanupRecord>> history) {
    }

    private final Map<EngineDiagnostics, Tracked> live = new ConcurrentHashMap<>();
    private final ArrayDeque<Trail> retired = new ArrayDeque<>();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile SocketReasons reasons;

    /** What {@code san:bench} runs through: it never starts a provider itself (docs/rules.md Q11). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile SocketSwitch socketSwitch;

    /** What {@code san:switch} and {@code san:route} show: the switch's own account. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile SwitchView switchView;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addProvider(EngineDiagnostics engine, Map<String, Object> properties) {
        Object id = properties.get(Constants.SERVICE_ID);
        live.put(engine, new Tracked(engine, id instanceof Number n ? n.longValue() : -1));
    }

    void removeProvider(EngineDiagnostics engine) {
        Tracked t = live.remove(engine);
        if (t != null) {
            synchronized (retired) {
                if (retired.size() == RETIRED_KEPT) {
                    retired.removeFirst();
                }
                retired.addLast(t.trail());
            }
        }
    }

    /** The text of {@code san:<command> args...}: what every shell prints for it. */
    @Override
    public String text(String command, String... args) throws InterruptedException {
        return mainText(command, args == null ? new String[0] : args);
    }

    // ------------------------------------------------------------------ the commands' text

    String providersText(String... args) {
        if (wantsHelp(args)) {
            return PROVIDERS_USAGE;
        }
        if (args.length > 0) {
            return "san:providers takes no arguments\n" + PROVIDERS_USAGE;
        }
        List<Tracked> all = sortedLive();
        if (all.isEmpty()) {
            return "No SAN providers registered (is a backend bundle such as io.sanswitch.tcp started?)\n";
        }
        Table t = new Table("PROVIDER", "SERVICE>", "STATE", "REFS>", "SOCKETS>", "PENDING>", "GEN>", "CLEANUPS>");
        for (Tracked p : all) {
            ProviderStatus s = p.engine().status();
            t.row(s.provider(), p.serviceId(), s.state(), s.referenceCount(), s.openSockets(), s.pendingOperations(),
                    s.generation(), s.finalCleanups());
        }
        return t + ownSocketsLine();
    }

    /**
     * docs/rules.md SW-own-sockets: which of the SOCKETS are the switch's own (its resume ports), so that
     * an operator with no application listener does not read them as the application's; empty when none.
     */
    private String ownSocketsLine() {
        SwitchView view = switchView;
        Map<String, Integer> own;
        try {
            own = view == null ? Map.of() : view.ownSockets();
        } catch (RuntimeException e) {
            LOG.warn("SwitchView threw for the switch's own sockets", e);
            return "";
        }
        if (own.isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder("Of the SOCKETS, the switch's own resume ports (no application's): ");
        String sep = "";
        for (Map.Entry<String, Integer> e : new java.util.TreeMap<>(own).entrySet()) {
            b.append(sep).append(e.getKey()).append(' ').append(e.getValue());
            sep = ", ";
        }
        return b.append(" (san:switch lists them)\n").toString();
    }

    String socketsText(String... args) {
        if (wantsHelp(args)) {
            return SOCKETS_USAGE;
        }
        if (args.length > 1) {
            return "san:sockets takes at most one argument\n" + SOCKETS_USAGE;
        }
        String only = args.length == 1 ? args[0] : null;
        if (only != null && find(only) == null) {
            return unknownProvider(only) + SOCKETS_USAGE;
        }
        SocketReasons why = reasons;
        Table t = new Table("PROVIDER", "SOCKET", "HANDLE>", "ROLE", "LOCAL", "PEER", "IN>", "OUT>", "PENDING>",
                "REASON");
        for (Tracked p : sortedLive()) {
            if (only != null && !only.equals(p.engine().transportName())) {
                continue;
            }
            for (SocketStatus s : p.engine().sockets()) {
                String reason = why == null || s.switchHandle() < 0 ? null : safeReason(why, s);
                t.row(s.provider(), s.handle(), s.switchHandle() < 0 ? null : s.switchHandle(), s.role(),
                        address(s.local()), address(s.peer()), Units.bytes(s.bytesIn()), Units.bytes(s.bytesOut()),
                        s.pendingOperations(), reason);
            }
        }
        if (t.size() == 0) {
            return "No open sockets" + (only == null ? "" : " on " + only) + "\n";
        }
        return t.toString();
    }

    String benchText(String... args) throws InterruptedException {
        if (wantsHelp(args)) {
            return BENCH_USAGE;
        }
        if (args.length > 2) {
            return "san:bench takes at most two arguments\n" + BENCH_USAGE;
        }
        String name = null;
        int seconds = 2;
        for (String a : args) {
            if (!a.isEmpty() && a.chars().allMatch(Character::isDigit)) {
                // more digits than an int holds is simply out of range
                seconds = a.length() > 9 ? Integer.MAX_VALUE : Integer.parseInt(a);
            } else if (name == null) {
                name = a;
            } else {
                return "two provider names given: " + name + ", " + a + "\n" + BENCH_USAGE;
            }
        }
        if (seconds < 1 || seconds > MAX_BENCH_SECONDS) {
            return "seconds must be 1 to " + MAX_BENCH_SECONDS + ", was " + seconds + "\n" + BENCH_USAGE;
        }
        Tracked p = name == null ? defaultBenchProvider() : find(name);
        if (p == null) {
            return (name == null ? "No SAN providers registered\n" : unknownProvider(name)) + BENCH_USAGE;
        }
        String provider = p.engine().transportName();
        SocketSwitch sw = socketSwitch;
        if (sw == null) {
            return "san:bench runs through the switch, and no SocketSwitch service is there (is the component "
                    + "io.sanswitch.core.switcher.Switch enabled?)\n";
        }
        try {
            LoopbackBench.Result r = new LoopbackBench(sw, provider, () -> !live.containsKey(p.engine()))
                    .run(Duration.ofSeconds(seconds));
            return formatBench(r);
        } catch (LoopbackBench.BenchException e) {
            LOG.info("san:bench on {} failed: {}", provider, e.getMessage());
            return "san:bench on " + provider + " failed: " + e.getMessage() + "\n";
        }
    }

    /** {@code san:cleanup-history [provider]}. */
    String cleanupHistoryText(String... args) {
        if (wantsHelp(args)) {
            return HISTORY_USAGE;
        }
        if (args.length > 1) {
            return "san:cleanup-history takes at most one argument\n" + HISTORY_USAGE;
        }
        String only = args.length == 1 ? args[0] : null;
        List<Trail> sources = new ArrayList<>();
        for (Tracked t : sortedLive()) {
            sources.add(t.trail());
        }
        synchronized (retired) {
            sources.addAll(retired);
        }
        if (only != null && sources.stream().noneMatch(t -> only.equals(t.provider()))) {
            return unknownProvider(only) + HISTORY_USAGE;
        }
        record Row(CleanupRecord record, long serviceId) {
        }
        List<Row> rows = new ArrayList<>();
        for (Trail t : sources) {
            if (only == null || only.equals(t.provider())) {
                for (CleanupRecord r : t.history().get()) {
                    rows.add(new Row(r, t.serviceId()));
                }
            }
        }
        if (rows.isEmpty()) {
            return "No final cleanup yet" + (only == null ? "" : " on " + only) + "\n";
        }
        rows.sort(Comparator.comparing((Row r) -> r.record().started()));
        List<Row> shown = rows.subList(Math.max(0, rows.size() - HISTORY_SHOWN), rows.size());
        Table t = new Table("WHEN", "PROVIDER", "SERVICE>", "GEN>", "REASON", "ABORTED>", "RESET>", "DURATION>",
                "RESULT");
        for (Row row : shown) {
            CleanupRecord r = row.record();
            t.row(WHEN.format(r.started().atZone(ZoneId.systemDefault())), r.provider(), row.serviceId(),
                    r.generation(), r.reason(), r.operationsAborted(), r.socketsReset(), new Units.Elapsed(r.durationNanos()),
                    result(r));
        }
        return t.toString();
    }

    String mainText(String function, String... args) throws InterruptedException {
        return switch (function == null ? "" : function.toLowerCase(Locale.ROOT)) {
            case "providers" -> providersText(args);
            case "sockets" -> socketsText(args);
            case "bench" -> benchText(args);
            case "cleanup-history", "cleanuphistory" -> cleanupHistoryText(args);
            case "switch" -> switchText(args);
            case "route" -> routeText(args);
            default -> "Unknown command san:" + function + "; the san commands are: providers, sockets, bench, "
                    + "cleanup-history, switch, route (each with --help)\n";
        };
    }

    /** {@code san:switch}. */
    String switchText(String... args) {
        if (wantsHelp(args)) {
            return SWITCH_USAGE;
        }
        if (args.length > 0) {
            return "san:switch takes no arguments\n" + SWITCH_USAGE;
        }
        SwitchView view = switchView;
        if (view == null) {
            return NO_SWITCH;
        }
        Table settings = new Table("SETTING", "VALUE", "SOURCE");
        for (SwitchView.Setting s : view.settingsInForce()) {
            settings.row(s.name(), s.value(), s.source());
        }
        Table providers = new Table("PROVIDER", "ROLE", "CAPABILITIES", "PUBLISHED SUBNETS");
        for (SwitchView.Provider p : view.providersBound()) {
            providers.row(p.name(), p.role(), p.capabilities(), p.subnets());
        }
        return settings + "\n" + (providers.size() == 0 ? "No provider bound to the switch\n" : providers.toString())
                + "\n" + resumePortsText(view);
    }

    /** docs/rules.md SW-own-sockets: the switch's own ports, apart from the application's listeners. */
    private static String resumePortsText(SwitchView view) {
        Table ports = new Table("RESUME PORT>", "PROVIDER", "LISTENS AT>", "FOR");
        for (SwitchView.OwnPort p : view.resumePortsListening()) {
            ports.row(p.port(), p.provider(), p.listensAt(), p.purpose());
        }
        return ports.size() == 0 ? "No resume port listening (the switch opens its own while migrate is on)\n"
                : ports.toString();
    }

    /** {@code san:route HOST:PORT}. */
    String routeText(String... args) {
        if (wantsHelp(args)) {
            return ROUTE_USAGE;
        }
        if (args.length != 1) {
            return "san:route takes one HOST:PORT\n" + ROUTE_USAGE;
        }
        InetSocketAddress peer;
        try {
            peer = PeerArgument.parse(args[0]);
        } catch (IllegalArgumentException e) {
            return e.getMessage() + "\n" + ROUTE_USAGE;
        }
        SwitchView view = switchView;
        if (view == null) {
            return NO_SWITCH;
        }
        SwitchView.RouteAnswer r = view.routeTo(peer);
        return new Table("PEER", "PROVIDER", "CONNECTS TO", "REASON", "DETAIL")
                .row(address(peer), r.provider(), address(r.target()), r.reason(), r.detail()).toString();
    }

    private static final String NO_SWITCH = "No SocketSwitch service is there (is the component "
            + "io.sanswitch.core.switcher.Switch enabled?)\n";

    // ------------------------------------------------------------------ helpers

    static String result(CleanupRecord r) {
        String code = r.result() == null ? "0" : r.resultCode() + " " + r.result().name();
        return r.stepsFailed() == 0 ? code : code + " (" + r.stepsFailed() + " steps failed)";
    }

    static String formatBench(LoopbackBench.Result r) {
        Table t = new Table("PROVIDER", "BYTES>", "TIME>", "RATE>", "ECHOES>", "RTT MEDIAN>", "RTT P99>");
        t.row(r.provider(), Units.bytes(r.bytes()), new Units.Elapsed(r.streamNanos()),
                Units.rate(r.bytes(), r.streamNanos()), r.roundTrips(), new Units.Elapsed(r.medianRoundTripNanos()),
                new Units.Elapsed(r.p99RoundTripNanos()));
        Table m = new Table("MEMORY", "RESIDENT>", "ANONYMOUS>", "DIRECT BUFFERS>", "RESIDENT CHANGE>");
        memoryRow(m, "idle before", r.idleBefore(), null);
        memoryRow(m, "one connection open", r.connectionOpen(), r.idleBefore());
        memoryRow(m, "idle after traffic", r.idleAfter(), r.idleBefore());
        return t + "\n" + m;
    }

    private static void memoryRow(Table t, String when, MemorySample s, MemorySample base) {
        String change = base == null || s.residentBytes() < 0 || base.residentBytes() < 0 ? null
                : Units.signedBytes(s.residentBytes() - base.residentBytes());
        t.row(when, known(s.residentBytes()), known(s.anonymousBytes()), known(s.directBytes()), change);
    }

    /** A byte count, or null (shown as a dash) where the system does not tell it. */
    private static String known(long bytes) {
        return bytes < 0 ? null : Units.bytes(bytes);
    }

    private static boolean wantsHelp(String[] args) {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help") || a.equals("help")) {
                return true;
            }
        }
        return false;
    }

    private static String address(InetSocketAddress a) {
        if (a == null) {
            return null;
        }
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    private static String safeReason(SocketReasons why, SocketStatus s) {
        try {
            return why.reasonFor(s.provider(), s.switchHandle());
        } catch (RuntimeException e) {
            LOG.warn("SocketReasons threw for {}", s.handle(), e);
            return "?";
        }
    }

    private List<Tracked> sortedLive() {
        List<Tracked> all = new ArrayList<>(live.values());
        all.sort(Comparator.comparing((Tracked t) -> t.engine().transportName()).thenComparingLong(Tracked::serviceId));
        return all;
    }

    private Tracked find(String name) {
        for (Tracked t : sortedLive()) {
            if (t.engine().transportName().equals(name)) {
                return t;
            }
        }
        return null;
    }

    private Tracked defaultBenchProvider() {
        Tracked ucx = find("ucx");
        if (ucx != null) {
            return ucx;
        }
        List<Tracked> all = sortedLive();
        return all.isEmpty() ? null : all.get(0);
    }

    private String unknownProvider(String name) {
        List<String> names = sortedLive().stream().map(t -> t.engine().transportName()).distinct().toList();
        return "No provider '" + name + "'; registered: " + (names.isEmpty() ? "none" : String.join(", ", names)) + "\n";
    }
}
