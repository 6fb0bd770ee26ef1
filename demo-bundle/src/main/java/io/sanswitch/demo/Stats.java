package io.sanswitch.demo;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Bytes echoed per phase and provider. */
final class Stats {
    /** One step of the demo, with what was echoed over each provider during it. */
    static final class Phase {
        final String title;
        final Map<String, LongAdder> bytes = new ConcurrentHashMap<>();
        volatile long startNanos = System.nanoTime();
        volatile long endNanos;

        Phase(String title) {
            this.title = title;
        }

        long bytes(String provider) {
            LongAdder a = bytes.get(provider);
            return a == null ? 0 : a.sum();
        }

        long total() {
            return bytes.values().stream().mapToLong(LongAdder::sum).sum();
        }

        long nanos() {
            return (endNanos == 0 ? System.nanoTime() : endNanos) - startNanos;
        }
    }

    private volatile Phase phase = new Phase("starting");

    Phase begin(String title) {
        Phase next = new Phase(title);
        phase.endNanos = next.startNanos;
        phase = next;
        return next;
    }

    Phase current() {
        return phase;
    }

    void add(String provider, long n) {
        phase.bytes.computeIfAbsent(provider, k -> new LongAdder()).add(n);
    }
}
