package io.sanswitch.itests;

import static org.junit.Assert.fail;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting for a positive signal in the framework, bounded; never a fixed sleep. */
final class Eventually {
    static final long WAIT_MILLIS = 20_000;

    private Eventually() {
    }

    /** Waits until {@code condition} holds; fails with {@code what} when it does not within {@link #WAIT_MILLIS}. */
    static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        eventually(() -> what, WAIT_MILLIS, condition);
    }

    /**
     * As {@link #eventually(String, BooleanSupplier)} within {@code waitMillis}, {@code what} told at the
     * failure (the state then).
     */
    static void eventually(Supplier<String> what, long waitMillis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail(what.get());
            }
            Thread.sleep(5);
        }
    }
}
