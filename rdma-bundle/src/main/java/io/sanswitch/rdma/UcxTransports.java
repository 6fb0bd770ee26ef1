package io.sanswitch.rdma;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.sanswitch.transport.Transport;

/**
 * Public factory for a {@link UcxTransport} with a chosen progress policy, for programs outside
 * this package (the benchmarks) that must pick it: {@link ProgressPolicy} itself stays
 * package-private.
 */
public final class UcxTransports {
    private UcxTransports() {
    }

    /**
     * A new, unopened UCX transport.
     *
     * @param policy a {@link #policies()} name, case-insensitive, {@code -} for {@code _}
     *     ({@code busy-poll}, {@code wakeup}, {@code spin-then-wakeup})
     * @param transports UCX transports ({@code UCX_TLS}), empty for UCX's choice (which then
     *     honours the environment's {@code UCX_TLS})
     * @throws IllegalArgumentException for an unknown policy
     */
    public static Transport create(String policy, String transports) {
        return new UcxTransport(policy(policy), transports);
    }

    /** The policy names {@link #create} accepts. */
    public static List<String> policies() {
        return Arrays.stream(ProgressPolicy.values()).map(p -> p.name().toLowerCase(Locale.ROOT).replace('_', '-')).toList();
    }

    private static ProgressPolicy policy(String name) {
        try {
            return ProgressPolicy.valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("progress policy " + name + ": one of " + policies(), e);
        }
    }
}
