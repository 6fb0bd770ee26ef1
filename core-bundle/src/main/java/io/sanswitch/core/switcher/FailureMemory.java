package io.sanswitch.core.switcher;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import io.sanswitch.spi.WsaError;

/**
 * Recent RDMA connect failures per peer address, so that short-lived connections to a peer whose
 * SAN path just failed go straight to TCP instead of waiting for another SAN timeout. Lock-free;
 * entries expire lazily.
 */
final class FailureMemory {
    private record Entry(WsaError error, long expiresAtNanos) {
    }

    /** A failure remembered for a peer, and how much longer it is. */
    record Remembered(WsaError error, Duration left) {
    }

    private final Map<InetAddress, Entry> failures = new ConcurrentHashMap<>();
    private final LongSupplier clock;

    FailureMemory(LongSupplier nanoClock) {
        this.clock = nanoClock;
    }

    void remember(InetAddress peer, WsaError error, Duration forHowLong) {
        if (forHowLong.isZero() || forHowLong.isNegative()) {
            return;
        }
        failures.put(peer, new Entry(error, clock.getAsLong() + forHowLong.toNanos()));
    }

    /** The failure remembered for {@code peer} and not yet expired, or {@code null}. */
    WsaError recent(InetAddress peer) {
        Remembered r = recall(peer);
        return r == null ? null : r.error();
    }

    /** The failure remembered for {@code peer} with the time it still counts, or {@code null}. */
    Remembered recall(InetAddress peer) {
        Entry e = failures.get(peer);
        if (e == null) {
            return null;
        }
        long left = e.expiresAtNanos() - clock.getAsLong();
        if (left <= 0) {
            failures.remove(peer, e);
            return null;
        }
        return new Remembered(e.error(), Duration.ofNanos(left));
    }

    int size() {
        return failures.size();
    }

    /** Peers with a failure not yet expired (what a connect would still see), dropping expired ones. */
    int remembered() {
        long now = clock.getAsLong();
        failures.entrySet().removeIf(e -> now - e.getValue().expiresAtNanos() >= 0);
        return failures.size();
    }
}
