package io.sanswitch.rdma;

import java.time.Duration;
import java.util.PriorityQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import org.openucx.jucx.ucp.UcpWorker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * The one thread that progresses a UCX worker and makes every UCX call on it (the worker is
 * created single-threaded). Other threads hand it work with {@link #execute} or {@link #call}
 * and wake it with the worker's signal. UCX callbacks run on this thread, inside
 * {@code progress()}: work that needs more progress (waiting for callbacks) must not run from
 * inside one.
 */
final class UcxWorkerThread implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(UcxWorkerThread.class);
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

    /** The stages of a {@link #callOrUndo} task: exactly one of the task and its caller owns the result. */
    private static final int QUEUED = 0;
    private static final int RUNNING = 1;
    private static final int DONE = 2;
    private static final int GIVEN_UP = 3;
    /** Worker threads started and not yet past their last act: JUCX may run on them (JucxClassReferences). */
    private static final java.util.concurrent.atomic.AtomicInteger ALIVE = new java.util.concurrent.atomic.AtomicInteger();

    private final UcpWorker worker;
    private final long handle;
    private final ProgressPolicy policy;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    /** Tasks due at a time (this thread only); the idle wait is bounded, so they run on time. */
    private final PriorityQueue<Timed> timed = new PriorityQueue<>();

    private record Timed(long due, Runnable task) implements Comparable<Timed> {
        @Override
        public int compareTo(Timed o) {
            return Long.compare(due, o.due);
        }
    }
    private volatile boolean running = true;
    /** {@link #call}s made from other threads: each waits for a turn of this loop. */
    private final java.util.concurrent.atomic.AtomicLong hops = new java.util.concurrent.atomic.AtomicLong();
    private final BooleanSupplier afterProgress;
    private volatile Runnable lastAct;
    private boolean inProgress;

    /**
     * @param afterProgress runs after each progress round of the loop (outside any callback);
     *        answers whether it did any work
     */
    UcxWorkerThread(UcpWorker worker, ProgressPolicy policy, String name, BooleanSupplier afterProgress) {
        this.worker = worker;
        this.handle = worker.getNativeId();
        this.afterProgress = afterProgress;
        this.policy = policy;
        this.thread = new Thread(this, name);
        this.thread.setDaemon(true);
    }

    void start() {
        ALIVE.incrementAndGet();
        try {
            thread.start();
        } catch (RuntimeException | Error e) {
            ALIVE.decrementAndGet();
            throw e;
        }
    }

    /** Worker threads of this class loader that may still call into JUCX. */
    static int alive() {
        return ALIVE.get();
    }

    boolean inThread() {
        return Thread.currentThread() == thread;
    }

    /** Whether this thread is inside {@code worker.progress()} (a UCX callback) right now. */
    boolean inCallback() {
        return inThread() && inProgress;
    }

    void execute(Runnable task) {
        if (inThread()) {
            task.run();
        } else {
            tasks.add(task);
            wake();
        }
    }

    /** Queues {@code task} for the worker thread, never running it inline. */
    void later(Runnable task) {
        tasks.add(task);
        if (!inThread()) {
            wake();
        }
    }

    /** Runs {@code task} on this thread after {@code delay}. Only on the worker thread. */
    void schedule(Duration delay, Runnable task) {
        timed.add(new Timed(System.nanoTime() + delay.toNanos(), task));
    }

    private boolean runTimed() {
        if (timed.isEmpty()) {
            return false;
        }
        long now = System.nanoTime();
        boolean any = false;
        for (Timed t; (t = timed.peek()) != null && now - t.due() >= 0;) {
            timed.poll();
            any = true;
            try {
                t.task().run();
            } catch (RuntimeException e) {
                LOG.warn("timed task on the UCX worker thread threw", e);
            }
        }
        return any;
    }

    /** Runs {@code task} on the worker thread and returns its result. */
    <T> T call(Callable<T> task) throws WsaException {
        if (inThread()) {
            try {
                return task.call();
            } catch (WsaException e) {
                throw e;
            } catch (Exception e) {
                throw new WsaException(WsaError.WSAENOBUFS, "UCX: " + e.getMessage(), e);
            }
        }
        hops.incrementAndGet();
        CompletableFuture<T> result = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        wake();
        try {
            return result.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | InterruptedException | TimeoutException e) {
            throw unanswered(e, CALL_TIMEOUT.toSeconds() + " s");
        }
    }

    /** What a caller's wait for the worker thread ended with, as the {@code WsaException} it throws. */
    private static WsaException unanswered(Exception e, String waited) {
        if (e instanceof ExecutionException x) {
            return x.getCause() instanceof WsaException w ? w
                    : new WsaException(WsaError.WSAENOBUFS, "UCX: " + x.getCause(), x.getCause());
        }
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return new WsaException(WsaError.WSAENETDOWN, "interrupted waiting for the UCX worker", e);
        }
        return new WsaException(WsaError.WSAENETDOWN, "the UCX worker did not answer in " + waited);
    }

    /**
     * {@link #call} for a task that makes something only its caller may release (a memory mapping),
     * waiting at most {@code wait}. When the caller gives up first (the call fails), the result has
     * one owner all the same (docs/rules.md RG-given-up): the task does not run if it has not
     * started, and if it was running, what it made goes to {@code undo} on this thread as it
     * returns. A result the caller got is never undone.
     */
    <T> T callOrUndo(Callable<T> task, Duration wait, Consumer<? super T> undo) throws WsaException {
        if (inThread()) {
            return call(task);
        }
        hops.incrementAndGet();
        AtomicInteger stage = new AtomicInteger(QUEUED);
        CompletableFuture<T> result = new CompletableFuture<>();
        tasks.add(() -> {
            if (!stage.compareAndSet(QUEUED, RUNNING)) {
                return; // the caller gave up before it started: nothing is made
            }
            T made;
            try {
                made = task.call();
            } catch (Throwable e) {
                stage.set(DONE);
                result.completeExceptionally(e);
                return;
            }
            if (stage.compareAndSet(RUNNING, DONE)) {
                result.complete(made);
            } else {
                undo.accept(made); // the caller gave up while it ran
            }
        });
        wake();
        try {
            try {
                return result.get(wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException | InterruptedException e) {
                if (stage.compareAndSet(QUEUED, GIVEN_UP) || stage.compareAndSet(RUNNING, GIVEN_UP)) {
                    throw e;
                }
                return result.get(); // it was done the moment the wait ended: the result is the caller's
            }
        } catch (ExecutionException | InterruptedException | TimeoutException e) {
            throw unanswered(e, wait.toMillis() + " ms");
        }
    }

    /**
     * Progresses the worker until {@code done} holds (bounded). Only on the worker thread and not
     * from inside a callback.
     *
     * @return whether {@code done} held in time
     */
    boolean progressUntil(BooleanSupplier done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            progressOnce();
        }
        return true;
    }

    private int progressOnce() {
        inProgress = true;
        try {
            return worker.progress();
        } catch (Exception e) {
            LOG.warn("UCX progress failed", e);
            return 0;
        } finally {
            inProgress = false;
        }
    }

    @Override
    public void run() {
        try {
            loop();
        } finally {
            ALIVE.decrementAndGet();
        }
    }

    private void loop() {
        int idleRounds = 0;
        long idleSince = 0;
        while (running) {
            boolean worked = runTasks() | runTimed();
            int progressed = progressOnce();
            if (pump() | progressed > 0 || worked) {
                idleRounds = 0;
            } else if (tasks.isEmpty() && running) {
                long now = System.nanoTime();
                if (idleRounds == 0) {
                    idleSince = now;
                }
                policy.idle(handle, idleRounds++, now - idleSince);
            }
        }
        runTasks();
        Runnable last = lastAct;
        if (last != null) {
            try {
                last.run();
            } catch (RuntimeException e) {
                LOG.warn("UCX teardown threw", e);
            }
        }
    }

    private boolean pump() {
        try {
            return afterProgress.getAsBoolean();
        } catch (RuntimeException e) {
            LOG.warn("handing messages to receives failed", e);
            return false;
        }
    }

    private boolean runTasks() {
        boolean any = false;
        Runnable r;
        while ((r = tasks.poll()) != null) {
            any = true;
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.warn("task on the UCX worker thread threw", e);
            }
        }
        return any;
    }

    /**
     * Stops the loop and then runs {@code lastAct} (destroying the worker) as the thread's last
     * act, after its final progress call. Waits for the thread unless called on it: from inside a
     * callback the destruction happens when the callback has returned.
     */
    void stop(Runnable lastAct) {
        this.lastAct = lastAct;
        running = false;
        wake();
        if (!inThread()) {
            try {
                thread.join(CALL_TIMEOUT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                LOG.warn("{} did not stop in time", thread.getName());
            }
        }
    }

    /** Ends the event wait; a busy-polling thread sees new work without it (and its worker has no wakeup). */
    private void wake() {
        if (policy.sleeps()) {
            worker.signal();
        }
    }

    boolean isAlive() {
        return thread.isAlive();
    }

    /** Tasks handed to this thread and not taken yet (tests: the order work reaches the thread in). */
    int queuedTasks() {
        return tasks.size();
    }

    /** Calls that waited for this thread (diagnostics: a batch must not make one per item). */
    long hops() {
        return hops.get();
    }
}
