package io.sanswitch.core.switcher;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import io.sanswitch.config.ConfigReader;
import io.sanswitch.transport.Cidr;

/**
 * The switch's settings: read from the properties of PID {@value Switch#PID} (every value checked,
 * a bad one logged and replaced by the last good one), or built directly by tests.
 */
public record SwitchSettings(List<Cidr> sanSubnets, Duration rdmaFailureMemory, Duration connectTimeout,
        int rdmaThresholdBytes, int rdmaPortOffset, boolean forceWriteFlow, String rdmaTransport, String tcpTransport,
        int ioThreads, Duration closeTimeout, MigrationSettings migration) {

    // Defaults and bounds of PID io.sanswitch.switch; SwitchConfig (the Metatype) shows the same.
    static final int MAX_SUBNETS = 256;
    static final int FAILURE_MEMORY_SECONDS = 30;
    static final int MAX_FAILURE_MEMORY_SECONDS = 86_400;
    static final int CONNECT_TIMEOUT_MILLIS = 3000;
    static final int MAX_TIMEOUT_MILLIS = 600_000;
    static final int RDMA_THRESHOLD_BYTES = 0;
    static final int MAX_RDMA_THRESHOLD_BYTES = 1 << 30;
    static final int RDMA_PORT_OFFSET = 1;
    static final int MAX_PORT_OFFSET = 65_535;
    static final String RDMA_TRANSPORT = "ucx";
    static final String TCP_TRANSPORT = "tcp";
    static final int IO_THREADS = 2;
    static final int MAX_IO_THREADS = 256;
    static final int CLOSE_TIMEOUT_MILLIS = 10_000;

    /** How large blocks move (docs/rules.md BG-rdma-flows), property {@code rdmaFlow}. */
    enum Flow { AUTO, WRITE }

    public SwitchSettings {
        sanSubnets = List.copyOf(sanSubnets);
        java.util.Objects.requireNonNull(migration, "migration");
    }

    /** Every default: no SAN subnet of its own. */
    public static SwitchSettings defaults() {
        return new SwitchSettings(List.of(), Duration.ofSeconds(FAILURE_MEMORY_SECONDS),
                Duration.ofMillis(CONNECT_TIMEOUT_MILLIS), RDMA_THRESHOLD_BYTES, RDMA_PORT_OFFSET, false, RDMA_TRANSPORT,
                TCP_TRANSPORT, IO_THREADS, Duration.ofMillis(CLOSE_TIMEOUT_MILLIS), MigrationSettings.defaults());
    }

    /**
     * Defaults with these SAN subnets (CIDR strings); for tests and embedding.
     *
     * @throws IllegalArgumentException if one is no CIDR
     */
    public static SwitchSettings withSubnets(String... cidrs) {
        List<String> bad = new ArrayList<>();
        List<Cidr> subnets = Cidr.parseAll(List.of(cidrs), bad::add);
        if (!bad.isEmpty()) {
            throw new IllegalArgumentException("not CIDRs: " + bad);
        }
        SwitchSettings d = defaults();
        return new SwitchSettings(subnets, d.rdmaFailureMemory, d.connectTimeout, d.rdmaThresholdBytes,
                d.rdmaPortOffset, d.forceWriteFlow, d.rdmaTransport, d.tcpTransport, d.ioThreads, d.closeTimeout, d.migration);
    }

    public SwitchSettings withFailureMemory(Duration d) {
        return new SwitchSettings(sanSubnets, d, connectTimeout, rdmaThresholdBytes, rdmaPortOffset, forceWriteFlow,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout, migration);
    }

    public SwitchSettings withConnectTimeout(Duration d) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, d, rdmaThresholdBytes, rdmaPortOffset, forceWriteFlow,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout, migration);
    }

    public SwitchSettings withThreshold(int bytes) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, connectTimeout, bytes, rdmaPortOffset, forceWriteFlow,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout, migration);
    }

    public SwitchSettings withWriteFlow(boolean write) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, connectTimeout, rdmaThresholdBytes, rdmaPortOffset, write,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout, migration);
    }

    public SwitchSettings withPortOffset(int offset) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, connectTimeout, rdmaThresholdBytes, offset, forceWriteFlow,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout, migration);
    }

    public SwitchSettings withMigration(MigrationSettings m) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, connectTimeout, rdmaThresholdBytes, rdmaPortOffset,
                forceWriteFlow, rdmaTransport, tcpTransport, ioThreads, closeTimeout, m);
    }

    /**
     * Reads the configuration of PID {@value Switch#PID}. Absent properties take their defaults; a
     * bad value is one line for {@code complaints} and {@code lastGood}'s value stays (the
     * defaults at activation); a SAN subnet that is no CIDR is left out. Never throws.
     */
    static SwitchSettings read(Map<String, ?> properties, SwitchSettings lastGood, Consumer<String> complaints) {
        ConfigReader r = new ConfigReader(Switch.PID, properties, complaints);
        List<Cidr> subnets = Cidr.parseAll(r.list("sanSubnets", MAX_SUBNETS), why -> r.leaveOut("sanSubnets", why));
        int memory = r.integer("rdmaFailureMemorySeconds", 0, MAX_FAILURE_MEMORY_SECONDS, FAILURE_MEMORY_SECONDS,
                (int) lastGood.rdmaFailureMemory.toSeconds());
        int connect = r.integer("connectTimeoutMillis", 1, MAX_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS,
                (int) lastGood.connectTimeout.toMillis());
        int threshold = r.integer("rdmaThresholdBytes", 0, MAX_RDMA_THRESHOLD_BYTES, RDMA_THRESHOLD_BYTES,
                lastGood.rdmaThresholdBytes);
        int offset = r.integer("rdmaPortOffset", 1, MAX_PORT_OFFSET, RDMA_PORT_OFFSET, lastGood.rdmaPortOffset);
        Flow flow = r.choice("rdmaFlow", Flow.class, Flow.AUTO, lastGood.forceWriteFlow ? Flow.WRITE : Flow.AUTO);
        String rdma = r.text("rdmaTransport", SwitchSettings::isName, "a transport name", RDMA_TRANSPORT,
                lastGood.rdmaTransport);
        String tcp = r.text("tcpTransport", SwitchSettings::isName, "a transport name", TCP_TRANSPORT,
                lastGood.tcpTransport);
        int threads = r.integer("ioThreads", 1, MAX_IO_THREADS, IO_THREADS, lastGood.ioThreads);
        int close = r.integer("closeTimeoutMillis", 1, MAX_TIMEOUT_MILLIS, CLOSE_TIMEOUT_MILLIS,
                (int) lastGood.closeTimeout.toMillis());
        return new SwitchSettings(subnets, Duration.ofSeconds(memory), Duration.ofMillis(connect), threshold, offset,
                flow == Flow.WRITE, rdma, tcp, threads, Duration.ofMillis(close), MigrationSettings.read(r, lastGood.migration));
    }

    /** A transport name as backends publish it ("ucx", "tcp"): short, letters, digits, '-', '_', '.'. */
    private static boolean isName(String s) {
        return s.matches("[A-Za-z0-9._-]{1,64}");
    }
}
