package io.sanswitch.core;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one provider engine.
 *
 * @param maxStartups outstanding startups allowed; one more is {@code WSAEPROCLIM} (docs/rules.md Q9)
 * @param drainTimeout how long the final cleanup and closeSocket wait for calls and event postings
 *     in progress on other threads before they log a thread dump and go on
 * @param description {@code WSPDATA.szDescription}
 */
public record EngineConfig(int maxStartups, Duration drainTimeout, String description) {
    public static final int DEFAULT_MAX_STARTUPS = 1 << 16;
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(10);

    public EngineConfig {
        if (maxStartups < 1) {
            throw new IllegalArgumentException("maxStartups must be at least 1: " + maxStartups);
        }
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        if (drainTimeout.isNegative()) {
            throw new IllegalArgumentException("drainTimeout < 0: " + drainTimeout);
        }
        Objects.requireNonNull(description, "description");
    }

    public static EngineConfig defaults(String transportName) {
        return new EngineConfig(DEFAULT_MAX_STARTUPS, DEFAULT_DRAIN_TIMEOUT, "sanswitch SAN provider over " + transportName);
    }

    public EngineConfig withMaxStartups(int max) {
        return new EngineConfig(max, drainTimeout, description);
    }

    public EngineConfig withDrainTimeout(Duration timeout) {
        return new EngineConfig(maxStartups, timeout, description);
    }
}
