package io.sanswitch.testing;

import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waiting in tests for a positive signal, bounded: a condition that becomes true, or a value that
 * appears. Never a fixed sleep followed by an assertion that nothing happened.
 */
public final class Eventually {
    /** How long a test waits for a signal before it fails. */
    public static final long WAIT_SECONDS = 20;

    private Eventually() {
    }

    /** Waits until {@code condition} holds; fails naming {@code what} when it does not within {@link #WAIT_SECONDS}. */
    public static void until(String what, BooleanSupplier condition) throws InterruptedException {
        value(what, () -> condition.getAsBoolean() ? Optional.of(Boolean.TRUE) : Optional.empty());
    }

    /** Waits until {@code probe} yields a value and returns it; fails naming {@code what} otherwise. */
    public static <T> T value(String what, Supplier<Optional<T>> probe) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        for (;;) {
            Optional<T> v = probe.get();
            if (v.isPresent()) {
                return v.get();
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(what + ": not within " + WAIT_SECONDS + " s");
            }
            Thread.sleep(1);
        }
    }
}
