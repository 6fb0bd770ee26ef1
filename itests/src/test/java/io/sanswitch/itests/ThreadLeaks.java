package io.sanswitch.itests;

import static org.junit.Assert.fail;

import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Threads a test started and left behind, found by identity against a baseline. */
final class ThreadLeaks {
    private ThreadLeaks() {
    }

    /** The threads alive now. */
    static Set<Thread> live() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).collect(Collectors.toSet());
    }

    /**
     * Waits (bounded, {@link Eventually#WAIT_MILLIS}) until every live thread is one of
     * {@code baseline}; fails naming the others.
     */
    static void assertNoneBeyond(Set<Thread> baseline, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Eventually.WAIT_MILLIS);
        for (;;) {
            Set<Thread> extra = live();
            extra.removeAll(baseline);
            if (extra.isEmpty()) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                fail(what + ": " + extra.stream().map(Thread::getName).sorted().collect(Collectors.toList()));
            }
            Thread.sleep(5);
        }
    }
}
