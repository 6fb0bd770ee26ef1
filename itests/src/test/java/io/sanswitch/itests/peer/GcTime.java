package io.sanswitch.itests.peer;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

/**
 * The time this JVM's collectors took, as their MXBeans count it (for G1 its young and mixed
 * pauses and full collections): printed beside a cycle's stalls, it tells how much of a window the
 * collector had.
 */
public final class GcTime {
    private long last = total();

    /** Milliseconds the collectors took since the last call (the first: since this was made). */
    public synchronized long take() {
        long now = total();
        long took = now - last;
        last = now;
        return took;
    }

    private static long total() {
        long sum = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
            sum += Math.max(0, b.getCollectionTime()); // -1: not known for that collector
        }
        return sum;
    }
}
