package io.sanswitch.tcp;

import java.io.IOException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One selector thread that owns its sockets' I/O (docs/architecture.md, threads: each backend owns its I/O threads).
 * Work from other threads is handed over with {@link #execute}; ready keys are dispatched to the
 * {@link NioSocket} attached to them.
 */
final class SelectorLoop implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(SelectorLoop.class);

    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;
    private volatile Runnable tick;
    private volatile long tickNanos;
    private long nextTick;

    SelectorLoop(String name) throws IOException {
        this.selector = Selector.open();
        this.thread = new Thread(this, name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Runs {@code task} on the loop thread about every {@code millis}; set before {@link #start}. */
    void every(long millis, Runnable task) {
        tickNanos = millis * 1_000_000L;
        tick = task;
    }

    Selector selector() {
        return selector;
    }

    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code task} on the loop thread (at once if already there). */
    void execute(Runnable task) {
        if (inLoop()) {
            task.run();
        } else {
            tasks.add(task);
            selector.wakeup();
        }
    }

    /** Runs {@code task} on the loop thread after the current work, never inline. */
    void later(Runnable task) {
        tasks.add(task);
        if (!inLoop()) {
            selector.wakeup();
        }
    }

    @Override
    public void run() {
        try {
            while (running) {
                runTasks();
                runTick();
                selector.select(tick == null ? 500 : Math.max(1, tickNanos / 1_000_000L));
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey key = it.next();
                    it.remove();
                    if (key.attachment() instanceof NioSocket s) {
                        try {
                            s.onReady(key);
                        } catch (CancelledKeyException closedMeanwhile) {
                            // Another thread closed that socket while this one served its key: its
                            // close ends it. The loop must go on: it owns every other socket too.
                        }
                    }
                }
            }
        } catch (ClosedSelectorException e) {
            // closed by stop()
        } catch (IOException | RuntimeException e) {
            LOG.error("{} failed", thread.getName(), e);
        } finally {
            runTasks();
        }
    }

    private void runTick() {
        Runnable t = tick;
        if (t == null) {
            return;
        }
        long now = System.nanoTime();
        if (now - nextTick >= 0) {
            nextTick = now + tickNanos;
            try {
                t.run();
            } catch (RuntimeException e) {
                LOG.warn("periodic task on {} threw", thread.getName(), e);
            }
        }
    }

    private void runTasks() {
        Runnable r;
        while ((r = tasks.poll()) != null) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.warn("task on {} threw", thread.getName(), e);
            }
        }
    }

    /**
     * Stops the loop and closes the selector. Waits (bounded) for the thread unless called on it
     * (a cleanup from inside an upcall on this loop: docs/rules.md LC-reentrant).
     */
    void stop() {
        requestStop();
        awaitStopped();
    }

    /**
     * Lets the loop end after its current turn; its last select closes the descriptors of the
     * channels closed meanwhile. Several loops asked first and waited for afterwards close theirs in
     * parallel.
     */
    void requestStop() {
        running = false;
        selector.wakeup();
    }

    /** Lets the loop's thread handle what changed (e.g. close the descriptors of channels just closed). */
    void wakeup() {
        selector.wakeup();
    }

    /** After {@link #requestStop}: waits (bounded) for the thread unless called on it, then closes the selector. */
    void awaitStopped() {
        if (!inLoop()) {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                LOG.warn("{} did not stop within 5 s", thread.getName());
            }
        }
        try {
            selector.close();
        } catch (IOException e) {
            LOG.debug("closing the selector of {}", thread.getName(), e);
        }
    }

    boolean isAlive() {
        return thread.isAlive();
    }
}
