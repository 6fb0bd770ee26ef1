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

        // The timed part of the phase, on its one provider: it starts once every client has echoed a
        // chunk over that provider (connects and reconnects stay out of the rate) and ends before the
        // phase's next event (a bundle stop or start), so the phases' rates compare like with like.
        private volatile String timedProvider;
        private volatile long timedFromBytes;
        private volatile long timedFromNanos;
        private volatile long timedBytes = -1;
        private volatile long timedNanos;

        void startTimed(String provider) {
            timedFromBytes = bytes(provider);
            timedFromNanos = System.nanoTime();
            timedProvider = provider;
        }

        void endTimed() {
            timedNanos = System.nanoTime() - timedFromNanos;
            timedBytes = bytes(timedProvider) - timedFromBytes;
        }

        boolean timed() {
            return timedBytes >= 0;
        }

        String timedProvider() {
            return timedProvider;
        }

        double timedSeconds() {
            return timedNanos / 1e9;
        }

        /** MiB/s over the provider during the timed part; only when {@link #timed()}. */
        double timedRate() {
            return timedBytes / 1048576.0 / timedSeconds();
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
