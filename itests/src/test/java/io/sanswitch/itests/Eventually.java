package io.sanswitch.itests;

import static org.junit.Assert.fail;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting for a positive signal in the framework, bounded; never a fixed sleep. */
final class Eventually {
    static final long WAIT_MILLIS = 20_000;

    private Eventually() {
    }

    /** Waits until {@code condition} holds; fails with {@code what} when it does not within {@link #WAIT_MILLIS}. */
    static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail(what);
            }
            Thread.sleep(5);
        }
    }
}
