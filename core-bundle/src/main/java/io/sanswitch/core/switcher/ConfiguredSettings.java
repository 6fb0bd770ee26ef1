package io.sanswitch.core.switcher;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The switch's settings with where each value came from, for {@code san:switch}: the PID
 * {@value Switch#PID}, its default, or a refused value replaced (logged by {@link SwitchSettings#read}).
 *
 * @param sources property name to source, in the order of {@link #PROPERTIES}
 */
record ConfiguredSettings(SwitchSettings settings, Map<String, String> sources) {

    /** The properties of PID {@value Switch#PID}, as {@link SwitchSettings#read} reads them. */
    static final List<String> PROPERTIES = List.of("sanSubnets", "rdmaFailureMemorySeconds", "connectTimeoutMillis",
            "rdmaThresholdBytes", "rdmaPortOffset", "rdmaFlow", "rdmaTransport", "tcpTransport", "ioThreads",
            "closeTimeoutMillis", "migrate", "moveBack", "resumePort", "resumeTimeoutMillis", "retentionBytes",
            "ackEveryBytes");

    ConfiguredSettings {
        sources = Map.copyOf(sources);
    }

    /** Reads the PID's properties as {@link SwitchSettings#read} does, noting each value's source. */
    static ConfiguredSettings read(Map<String, ?> properties, SwitchSettings lastGood, Consumer<String> log) {
        Set<String> complained = new HashSet<>();
        String prefix = Switch.PID + ": ";
        SwitchSettings s = SwitchSettings.read(properties, lastGood, line -> {
            log.accept(line);
            if (line.startsWith(prefix)) {
                // "<pid>: <name> = ... refused" or "<pid>: <name>: entry left out: ..."
                String rest = line.substring(prefix.length());
                int end = 0;
                while (end < rest.length() && Character.isLetterOrDigit(rest.charAt(end))) {
                    end++;
                }
                complained.add(rest.substring(0, end));
            }
        });
        Map<String, String> sources = new HashMap<>();
        Map<String, String> defaults = values(SwitchSettings.defaults());
        Map<String, String> now = values(s);
        for (String name : PROPERTIES) {
            boolean configured = properties != null && properties.get(name) != null;
            String source;
            if (!configured) {
                source = "default";
            } else if (!complained.contains(name)) {
                source = Switch.PID;
            } else if (name.equals("sanSubnets")) {
                source = Switch.PID + " (entries left out, see the log)";
            } else {
                source = (now.get(name).equals(defaults.get(name)) ? "default" : "the value before")
                        + " (" + Switch.PID + "'s value refused, see the log)";
            }
            sources.put(name, source);
        }
        return new ConfiguredSettings(s, sources);
    }

    /** Settings given directly (tests, embedding), not through ConfigAdmin. */
    static ConfiguredSettings given(SwitchSettings s) {
        Map<String, String> sources = new HashMap<>();
        for (String name : PROPERTIES) {
            sources.put(name, "given by the embedding code");
        }
        return new ConfiguredSettings(s, sources);
    }

    /** Each property's value in force, as an operator would type it. */
    static Map<String, String> values(SwitchSettings s) {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("sanSubnets", s.sanSubnets().isEmpty() ? "none"
                : String.join(",", s.sanSubnets().stream().map(Object::toString).toList()));
        v.put("rdmaFailureMemorySeconds", String.valueOf(s.rdmaFailureMemory().toSeconds()));
        v.put("connectTimeoutMillis", String.valueOf(s.connectTimeout().toMillis()));
        v.put("rdmaThresholdBytes", s.rdmaThresholdBytes() == 0 ? "0 (the provider's SO_RDMA_THRESHOLD_SIZE)"
                : String.valueOf(s.rdmaThresholdBytes()));
        v.put("rdmaPortOffset", String.valueOf(s.rdmaPortOffset()));
        v.put("rdmaFlow", s.forceWriteFlow() ? "WRITE" : "AUTO");
        v.put("rdmaTransport", s.rdmaTransport());
        v.put("tcpTransport", s.tcpTransport());
        v.put("ioThreads", String.valueOf(s.ioThreads()));
        v.put("closeTimeoutMillis", String.valueOf(s.closeTimeout().toMillis()));
        MigrationSettings m = s.migration();
        v.put("migrate", String.valueOf(m.migrate()));
        v.put("moveBack", String.valueOf(m.moveBack()));
        v.put("resumePort", m.resumePort() == 0 ? "0 (an ephemeral port)" : String.valueOf(m.resumePort()));
        v.put("resumeTimeoutMillis", String.valueOf(m.resumeTimeout().toMillis()));
        v.put("retentionBytes", String.valueOf(m.retentionBytes()));
        v.put("ackEveryBytes", String.valueOf(m.ackEveryBytes()));
        return v;
    }
}
