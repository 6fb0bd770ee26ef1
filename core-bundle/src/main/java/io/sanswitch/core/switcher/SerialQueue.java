package io.sanswitch.core.switcher;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in order, on a shared pool: each connection and listener owns one, so
 * its state needs no lock. Upcalls only {@link #execute enqueue} (never block, never take a lock the
 * caller could hold), which keeps the final cleanup's upcalls, run on the framework thread that stops
 * a bundle, free of deadlocks (TOOLCHAIN 13).
 */
final class SerialQueue implements Executor {
    private static final Logger LOG = LoggerFactory.getLogger(SerialQueue.class);
    /** Tasks per turn, so one busy connection does not starve the others of the pool. */
    private static final int BATCH = 64;

    private final Executor pool;
    private final String name;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();

    SerialQueue(Executor pool, String name) {
        this.pool = pool;
        this.name = name;
    }

    @Override
    public void execute(Runnable task) {
        tasks.add(task);
        schedule();
    }

    private void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            try {
                pool.execute(this::drain);
            } catch (RejectedExecutionException stopped) {
                // The switch is stopping: what is queued here is dropped; deactivate already ended
                // every connection.
                scheduled.set(false);
                tasks.clear();
                LOG.debug("{}: switch stopped, tasks dropped", name);
            }
        }
    }

    private void drain() {
        try {
            for (int i = 0; i < BATCH; i++) {
                Runnable r = tasks.poll();
                if (r == null) {
                    break;
                }
                try {
                    r.run();
                } catch (RuntimeException | Error e) {
                    LOG.error("{}: task failed", name, e);
                }
            }
        } finally {
            scheduled.set(false);
            if (!tasks.isEmpty()) {
                schedule();
            }
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
