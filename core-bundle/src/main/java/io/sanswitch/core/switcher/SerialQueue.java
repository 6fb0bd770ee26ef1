package io.sanswitch.core.switcher;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in order: each connection and listener owns one, so its state needs no
 * lock. Whoever holds the queue (the {@code scheduled} flag) runs its tasks: a thread of the shared
 * pool ({@link #execute}), or the calling thread itself when the queue is idle ({@link #executeHere}),
 * which saves the hop to the pool, on a machine with few cores a scheduler time slice, on the fast
 * path (an application's send, a provider's successful completion).
 *
 * <p>An upcall that may come from a provider's final cleanup (run on the framework thread that stops
 * a bundle) only {@link #execute enqueues}: it never blocks, never takes a lock the caller could
 * hold, and never runs switch code on that thread: the framework stops a bundle on one thread, and a
 * listener that blocked there, or waited for a thread that waits for the framework, would stall or
 * deadlock the whole stop.
 */
final class SerialQueue implements Executor {
    private static final Logger LOG = LoggerFactory.getLogger(SerialQueue.class);
    /** Tasks per turn on the pool, so one busy connection does not starve the others of the pool. */
    private static final int BATCH = 64;
    /**
     * Tasks others queued meanwhile that a caller running a task here also runs before it returns; the
     * rest goes to the pool, so a provider's thread is back at its transport soon.
     */
    static final int HERE_BATCH = 8;
    /**
     * Queues one thread may be running at once, nested: a completion run here completes an
     * application's stage whose continuation sends on another connection, whose... Deeper calls
     * enqueue, so the stack stays bounded.
     */
    static final int MAX_NESTING = 3;
    /** Per thread, how many queues' tasks it is running (one entry per nesting level). */
    private static final ThreadLocal<int[]> NESTING = ThreadLocal.withInitial(() -> new int[1]);

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

    /**
     * Runs {@code task} on the calling thread if nobody runs this queue and nothing waits in it, then
     * up to {@link #HERE_BATCH} tasks others queued meanwhile; what is left goes to the pool. Otherwise,
     * or when the calling thread already runs {@link #MAX_NESTING} queues, it is {@link #execute
     * queued}. Either way no task overtakes one queued before it. The caller must not hold a lock a
     * task could need, and must accept that {@code task} (and what it completes) runs on its thread.
     */
    void executeHere(Runnable task) {
        int[] nesting = NESTING.get();
        if (nesting[0] >= MAX_NESTING || !tasks.isEmpty() || !scheduled.compareAndSet(false, true)) {
            execute(task);
            return;
        }
        // This thread holds the queue now. A task added between the emptiness check and the claim
        // came first: it runs first.
        Runnable first = task;
        if (!tasks.isEmpty()) {
            tasks.add(task);
            first = tasks.poll();
        }
        nesting[0]++;
        try {
            run(first);
            for (int i = 0; i < HERE_BATCH; i++) {
                Runnable r = tasks.poll();
                if (r == null) {
                    break;
                }
                run(r);
            }
        } finally {
            nesting[0]--;
            release();
        }
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
        int[] nesting = NESTING.get();
        nesting[0]++;
        try {
            for (int i = 0; i < BATCH; i++) {
                Runnable r = tasks.poll();
                if (r == null) {
                    break;
                }
                run(r);
            }
        } finally {
            nesting[0]--;
            release();
        }
    }

    /** Gives the queue up; a task queued meanwhile (its producer saw the queue held) goes to the pool. */
    private void release() {
        scheduled.set(false);
        if (!tasks.isEmpty()) {
            schedule();
        }
    }

    private void run(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException | Error e) {
            LOG.error("{}: task failed", name, e);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
