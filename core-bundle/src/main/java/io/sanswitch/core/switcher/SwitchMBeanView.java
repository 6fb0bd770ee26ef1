package io.sanswitch.core.switcher;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.sanswitch.api.ProviderChoice;

/** {@link SwitchMXBean} read live from the switch: its statistics and its failure memory. */
final class SwitchMBeanView implements SwitchMXBean {
    private final Switch sw;

    SwitchMBeanView(Switch sw) {
        this.sw = sw;
    }

    @Override
    public List<String> getProviders() {
        return sw.providers().stream().sorted().toList();
    }

    @Override
    public int getConnections() {
        return sw.statistics().connections();
    }

    @Override
    public int getSwitchConnections() {
        return sw.statistics().switchConnections();
    }

    @Override
    public int getListeners() {
        return sw.statistics().listeners();
    }

    @Override
    public Map<String, Integer> getResumePorts() {
        return new TreeMap<>(sw.statistics().resumePorts());
    }

    @Override
    public Map<String, Long> getConnectionsByReason() {
        return new TreeMap<>(sw.statistics().connectsByReason());
    }

    @Override
    public long getFallbacks() {
        return sw.statistics().connectsByReason().getOrDefault(ProviderChoice.Reason.FELL_BACK.name(), 0L);
    }

    @Override
    public int getFailuresRemembered() {
        return sw.failures().remembered();
    }

    @Override
    public Map<String, Integer> getProviderSockets() {
        return new TreeMap<>(sw.statistics().providerSockets());
    }

    @Override
    public Map<String, Integer> getSwitchSockets() {
        return new TreeMap<>(sw.statistics().switchSockets());
    }

    @Override
    public long getMemoryRegistrations() {
        return sw.statistics().memoryRegistrations();
    }

    @Override
    public long getEventsDuringCleanup() {
        return sw.statistics().eventsDuringCleanup();
    }

    @Override
    public String toString() {
        return "SwitchMXBean[" + sw + "]";
    }
}
