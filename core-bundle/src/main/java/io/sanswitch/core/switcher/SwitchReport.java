package io.sanswitch.core.switcher;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import io.sanswitch.core.switcher.view.SwitchView;
import io.sanswitch.transport.TransportProperties;

/** The switch's state in the words of {@code san:switch} and {@code san:route}; formatting only. */
final class SwitchReport {
    private SwitchReport() {
    }

    /** Every effective setting, then the SAN subnets the RDMA provider in use publishes. */
    static List<SwitchView.Setting> settings(ConfiguredSettings configured, BoundProvider rdma) {
        List<SwitchView.Setting> rows = new ArrayList<>();
        Map<String, String> values = ConfiguredSettings.values(configured.settings());
        for (String name : ConfiguredSettings.PROPERTIES) {
            rows.add(new SwitchView.Setting(name, values.get(name), configured.sources().get(name)));
        }
        if (rdma != null) {
            rows.add(new SwitchView.Setting(TransportProperties.SAN_SUBNETS, subnets(rdma),
                    "provider " + rdma.name + "'s service property (from PID io.sanswitch.rdma, sanSubnets)"));
        } else {
            rows.add(new SwitchView.Setting(TransportProperties.SAN_SUBNETS, "none",
                    "no RDMA provider running to publish any"));
        }
        return rows;
    }

    /** The bound providers, by name, with the role each plays for new connections. */
    static List<SwitchView.Provider> providers(Collection<BoundProvider> bound, BoundProvider rdma, BoundProvider tcp,
            SwitchSettings s) {
        List<BoundProvider> sorted = new ArrayList<>(bound);
        sorted.sort(Comparator.comparing(p -> p.name));
        List<SwitchView.Provider> rows = new ArrayList<>();
        for (BoundProvider p : sorted) {
            String role;
            if (p.isRetired()) {
                role = "withdrawn";
            } else if (p == rdma) {
                role = "RDMA: peers on SAN subnets (port + rdmaPortOffset " + s.rdmaPortOffset() + ")";
            } else if (p == tcp) {
                role = "TCP: other peers, fallback";
            } else {
                role = "standby: " + (p.rdma() ? "rdmaTransport is " + s.rdmaTransport() : "tcpTransport is "
                        + s.tcpTransport());
            }
            rows.add(new SwitchView.Provider(p.name, role, capabilities(p.capabilities()), subnets(p)));
        }
        return rows;
    }

    static String capabilities(BoundProvider.Capabilities c) {
        if (c == null) {
            return "-";
        }
        if (!c.rdma()) {
            return "stream, max message " + c.maxMessageSize() + " B";
        }
        return "RDMA write" + (c.rdmaRead() ? "+read" : "") + ", threshold " + c.rdmaThreshold() + " B, max RDMA "
                + c.maxRdmaSize() + " B";
    }

    private static String subnets(BoundProvider p) {
        return p.subnets().isEmpty() ? "none" : String.join(",", p.subnets().stream().map(Object::toString).toList());
    }

    /** {@code san:route}'s answer for one decision. */
    static SwitchView.RouteAnswer route(InetSocketAddress peer, Route.Decision<BoundProvider> d, SwitchSettings s) {
        String host = peer.getAddress().getHostAddress();
        String detail = switch (d.reason()) {
            case SAN_SUBNET -> "peer " + host + " on a SAN subnet; RDMA port " + peer.getPort() + " + rdmaPortOffset "
                    + s.rdmaPortOffset() + "; falls back to TCP if the RDMA connect fails with a code that allows it";
            case NOT_ON_SAN_SUBNET -> "peer " + host + " on no SAN subnet";
            case RDMA_PROVIDER_DOWN -> d.portOutOfRange()
                    ? "port " + peer.getPort() + " + rdmaPortOffset " + s.rdmaPortOffset() + " is no port"
                    : "peer " + host + " on a SAN subnet, but no RDMA provider is running";
            case RECENT_RDMA_FAILURE -> "an RDMA connect to " + host + " failed with " + d.remembered().error()
                    + "; straight to TCP for " + seconds(d.remembered().left().toMillis()) + " more";
            default -> d.reason().name();
        };
        if (d.provider() == null) {
            detail += "; no TCP provider is running: the connect fails with WSAENETDOWN";
        }
        return new SwitchView.RouteAnswer(d.provider() == null ? null : d.provider().name, d.target(), d.reason().name(),
                detail);
    }

    private static String seconds(long millis) {
        return String.format(java.util.Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
