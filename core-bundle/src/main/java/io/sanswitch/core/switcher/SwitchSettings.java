package io.sanswitch.core.switcher;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The switch's settings, read once from {@link SwitchConfig} (bad values logged and replaced), or
 * built directly by tests.
 */
public record SwitchSettings(List<Cidr> sanSubnets, Duration rdmaFailureMemory, Duration connectTimeout,
        int rdmaThresholdBytes, int rdmaPortOffset, boolean forceWriteFlow, String rdmaTransport, String tcpTransport,
        int ioThreads, Duration closeTimeout) {
    private static final Logger LOG = LoggerFactory.getLogger(SwitchSettings.class);

    public SwitchSettings {
        sanSubnets = List.copyOf(sanSubnets);
    }

    /** Defaults with these SAN subnets (CIDR strings); for tests and embedding. */
    public static SwitchSettings withSubnets(String... cidrs) {
        List<String> bad = new ArrayList<>();
        List<Cidr> subnets = Cidr.parseAll(Arrays.asList(cidrs), bad);
        if (!bad.isEmpty()) {
            throw new IllegalArgumentException("not CIDRs: " + bad);
        }
        return new SwitchSettings(subnets, Duration.ofSeconds(30), Duration.ofSeconds(3), 0, 1, false, "ucx", "tcp", 2,
                Duration.ofSeconds(10));
    }

    public SwitchSettings withFailureMemory(Duration d) {
        return new SwitchSettings(sanSubnets, d, connectTimeout, rdmaThresholdBytes, rdmaPortOffset, forceWriteFlow,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout);
    }

    public SwitchSettings withConnectTimeout(Duration d) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, d, rdmaThresholdBytes, rdmaPortOffset, forceWriteFlow,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout);
    }

    public SwitchSettings withThreshold(int bytes) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, connectTimeout, bytes, rdmaPortOffset, forceWriteFlow,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout);
    }

    public SwitchSettings withWriteFlow(boolean write) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, connectTimeout, rdmaThresholdBytes, rdmaPortOffset, write,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout);
    }

    public SwitchSettings withPortOffset(int offset) {
        return new SwitchSettings(sanSubnets, rdmaFailureMemory, connectTimeout, rdmaThresholdBytes, offset, forceWriteFlow,
                rdmaTransport, tcpTransport, ioThreads, closeTimeout);
    }

    static SwitchSettings of(SwitchConfig c) {
        List<String> bad = new ArrayList<>();
        List<Cidr> subnets = Cidr.parseAll(c.sanSubnets() == null ? List.of() : Arrays.asList(c.sanSubnets()), bad);
        if (!bad.isEmpty()) {
            LOG.warn("{}: SAN subnets left out (not CIDRs): {}", Switch.PID, bad);
        }
        int offset = c.rdmaPortOffset();
        if (offset < 1 || offset > 1000) {
            LOG.warn("{}: rdmaPortOffset {} out of 1..1000; using 1", Switch.PID, offset);
            offset = 1;
        }
        String flow = c.rdmaFlow() == null ? "AUTO" : c.rdmaFlow().strip().toUpperCase(Locale.ROOT);
        if (!flow.equals("AUTO") && !flow.equals("WRITE")) {
            LOG.warn("{}: rdmaFlow '{}' is neither AUTO nor WRITE; using AUTO", Switch.PID, c.rdmaFlow());
            flow = "AUTO";
        }
        return new SwitchSettings(subnets, Duration.ofSeconds(Math.max(0, c.rdmaFailureMemorySeconds())),
                Duration.ofMillis(positive(c.connectTimeoutMillis(), 3000, "connectTimeoutMillis")),
                Math.max(0, c.rdmaThresholdBytes()), offset, flow.equals("WRITE"),
                c.rdmaTransport() == null ? "ucx" : c.rdmaTransport().strip(),
                c.tcpTransport() == null ? "tcp" : c.tcpTransport().strip(),
                (int) positive(c.ioThreads(), 2, "ioThreads"),
                Duration.ofMillis(positive(c.closeTimeoutMillis(), 10000, "closeTimeoutMillis")));
    }

    private static long positive(long value, long otherwise, String name) {
        if (value > 0) {
            return value;
        }
        LOG.warn("{}: {} must be positive, was {}; using {}", Switch.PID, name, value, otherwise);
        return otherwise;
    }
}
