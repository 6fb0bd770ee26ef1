package io.sanswitch.core;

import java.lang.ref.WeakReference;
import java.util.concurrent.TimeUnit;

/** Waits, bounded, for the garbage collector to clear a weak reference: the positive signal that nothing holds it. */
public final class Collected {
    private Collected() {
    }

    /** Whether {@code ref} cleared within {@code seconds} of full GCs. */
    public static boolean within(WeakReference<?> ref, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (ref.get() != null) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            System.gc();
            Thread.sleep(20);
        }
        return true;
    }
}
