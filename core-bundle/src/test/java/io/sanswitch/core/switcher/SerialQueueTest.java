package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A connection's queue runs its tasks one at a time and in order, on the caller's thread when it is
 * idle (the switch's fast path, issue 12), else on the pool; nesting is bounded and a failing task is
 * logged without stopping the queue.
 */
@Timeout(60)
class SerialQueueTest {
    private final ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "test-pool");
        t.setDaemon(true);
        return t;
    });

    @AfterEach
    void stopPool() {
        pool.shutdownNow();
    }

    private static void await(CountDownLatch latch, String what) throws InterruptedException {
        assertTrue(latch.await(20, TimeUnit.SECONDS), what);
    }

    @Test
    void anIdleQueueRunsTheTaskOnTheCallersThreadBeforeReturning() {
        AtomicInteger pooled = new AtomicInteger();
        SerialQueue q = new SerialQueue(r -> {
            pooled.incrementAndGet();
            pool.execute(r);
        }, "idle");
        AtomicReference<Thread> ranOn = new AtomicReference<>();

        q.executeHere(() -> ranOn.set(Thread.currentThread()));

        assertSame(Thread.currentThread(), ranOn.get(), "ran here, before executeHere returned");
        assertEquals(0, pooled.get(), "no hop to the pool");
        q.executeHere(() -> ranOn.set(null));
        assertEquals(null, ranOn.get(), "the queue was given up after the first task: the next runs here too");
    }

    @Test
    void aBusyQueueQueuesTheTaskBehindTheRunningOneOnThePool() throws Exception {
        SerialQueue q = new SerialQueue(pool, "busy");
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> order = new ArrayList<>(); // guarded by the queue: one task at a time
        q.execute(() -> {
            running.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            order.add("pooled");
        });
        await(running, "the pooled task runs");
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);

        q.executeHere(() -> {
            order.add("here");
            ranOn.set(Thread.currentThread());
            done.countDown();
        });

        assertEquals(1, done.getCount(), "not run on the caller's thread while the queue is held");
        release.countDown();
        await(done, "the queued task runs after the one holding the queue");
        assertNotSame(Thread.currentThread(), ranOn.get());
        assertTrue(ranOn.get().getName().startsWith("test-pool"), ranOn.get().getName());
        assertEquals(List.of("pooled", "here"), order);
    }

    @Test
    void manyProducersMixingBothWaysKeepEachProducersOrderAndNeverOverlap() throws Exception {
        SerialQueue q = new SerialQueue(pool, "many");
        int producers = 4;
        int perProducer = 20_000;
        AtomicIntegerArray last = new AtomicIntegerArray(producers);
        for (int p = 0; p < producers; p++) {
            last.set(p, -1);
        }
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        AtomicInteger here = new AtomicInteger();
        CountDownLatch all = new CountDownLatch(producers * perProducer);
        List<Thread> threads = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        for (int p = 0; p < producers; p++) {
            int producer = p;
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perProducer; i++) {
                    int seq = i;
                    Thread caller = Thread.currentThread();
                    Runnable task = () -> {
                        if (inside.incrementAndGet() != 1) {
                            violations.incrementAndGet(); // two tasks at once
                        }
                        if (last.get(producer) + 1 != seq) {
                            violations.incrementAndGet(); // out of order or lost
                        }
                        last.set(producer, seq);
                        if (Thread.currentThread() == caller) {
                            here.incrementAndGet();
                        }
                        inside.decrementAndGet();
                        all.countDown();
                    };
                    if (i % 3 == 0) {
                        q.execute(task);
                    } else {
                        q.executeHere(task);
                    }
                    if (i % 1000 == 999) {
                        // Now and then wait for the own tasks, so the queue goes idle and is claimed
                        // here while others produce.
                        while (last.get(producer) < i) {
                            Thread.onSpinWait();
                        }
                    }
                }
            }, "producer-" + p);
            threads.add(t);
            t.start();
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        await(all, "every task ran");

        assertEquals(0, violations.get(), "tasks overlapped or overtook an earlier one of their producer ("
                + here + " ran on their producer's thread)");
        for (int p = 0; p < producers; p++) {
            assertEquals(perProducer - 1, last.get(p), "producer " + p + "'s last task");
        }
    }

    @Test
    void oneProducersTasksRunInCallOrderWhileAPooledDrainIsInProgress() throws Exception {
        SerialQueue q = new SerialQueue(pool, "one");
        int n = 50_000;
        ConcurrentLinkedQueue<Integer> ran = new ConcurrentLinkedQueue<>();
        AtomicInteger here = new AtomicInteger();
        AtomicInteger pooled = new AtomicInteger();
        CountDownLatch all = new CountDownLatch(n);
        Thread caller = Thread.currentThread();
        for (int i = 0; i < n; i++) {
            int seq = i;
            Runnable task = () -> {
                ran.add(seq);
                (Thread.currentThread() == caller ? here : pooled).incrementAndGet();
                if (seq % 64 == 0) {
                    Thread.onSpinWait(); // a little work, so drains overlap the producer
                }
                all.countDown();
            };
            // Every fourth but the first goes to the pool, so executeHere often finds a drain in
            // progress; the first finds the queue idle and runs here (so both ways are taken even
            // when, on a loaded machine, no drain ever ends while the producer runs).
            if (i % 4 == 0 && i > 0) {
                q.execute(task);
            } else {
                q.executeHere(task);
            }
        }
        await(all, "every task ran");

        int expected = 0;
        for (int seq : ran) {
            assertEquals(expected++, seq, "the global order is the call order");
        }
        assertEquals(n, expected);
        assertTrue(pooled.get() > 0 && here.get() > 0, "both ways were taken: here " + here + ", pooled " + pooled);
    }

    @Test
    void nestingIsBoundedDeepChainsEndUpQueuedWithoutOverflowingTheStack() throws Exception {
        int chain = 100_000;
        SerialQueue[] queues = new SerialQueue[chain];
        for (int i = 0; i < chain; i++) {
            queues[i] = new SerialQueue(pool, "chain " + i);
        }
        Thread caller = Thread.currentThread();
        int callersFrames = new Throwable().getStackTrace().length;
        AtomicInteger onCaller = new AtomicInteger();
        AtomicInteger deepest = new AtomicInteger();
        CountDownLatch end = new CountDownLatch(1);
        Runnable[] steps = new Runnable[chain];
        for (int i = chain - 1; i >= 0; i--) {
            int at = i;
            steps[i] = () -> {
                if (Thread.currentThread() == caller) {
                    onCaller.incrementAndGet();
                }
                deepest.accumulateAndGet(new Throwable().getStackTrace().length, Math::max);
                if (at + 1 < chain) {
                    queues[at + 1].executeHere(steps[at + 1]); // a continuation on the next connection
                } else {
                    end.countDown();
                }
            };
        }

        queues[0].executeHere(steps[0]);

        await(end, "the chain's last task ran (a stack overflow would have broken the chain)");
        assertEquals(SerialQueue.MAX_NESTING, onCaller.get(), "nested on the caller's thread up to the bound, then queued");
        assertTrue(deepest.get() < callersFrames + 40,
                "the stack stays shallow: " + deepest.get() + " frames, the caller had " + callersFrames);
    }

    @Test
    void aTaskQueuingOnItsOwnQueueRunsAfterItNotInsideIt() throws Exception {
        SerialQueue q = new SerialQueue(pool, "self");
        List<String> order = new ArrayList<>();
        AtomicInteger depth = new AtomicInteger();
        AtomicInteger maxDepth = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        int rounds = 1_000;
        Runnable[] step = new Runnable[1];
        AtomicInteger count = new AtomicInteger();
        step[0] = () -> {
            maxDepth.accumulateAndGet(depth.incrementAndGet(), Math::max);
            int k = count.incrementAndGet();
            order.add("start " + k);
            if (k < rounds) {
                q.executeHere(step[0]); // as a continuation sending on the same connection
            }
            order.add("end " + k);
            depth.decrementAndGet();
            if (k == rounds) {
                // Last of all, so the test reads the list only once no task writes to it any more.
                done.countDown();
            }
        };

        q.executeHere(step[0]);

        await(done, "all rounds ran");
        assertEquals(1, maxDepth.get(), "never nested inside itself");
        assertEquals("start 2", order.get(2), order.subList(0, 4).toString());
    }

    @Test
    void aFailingTaskIsLoggedAndTheQueueGoesOn() throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        SerialQueue q = new SerialQueue(pool, "failing queue");
        AtomicInteger after = new AtomicInteger();
        CountDownLatch pooledDone = new CountDownLatch(1);
        try {
            q.executeHere(() -> {
                throw new IllegalStateException("boom here");
            });
            q.executeHere(after::incrementAndGet);
            assertEquals(1, after.get(), "the queue was given up: the next task ran here too");

            q.execute(() -> {
                throw new IllegalStateException("boom pooled");
            });
            q.execute(pooledDone::countDown);
            await(pooledDone, "the task after the pooled failure ran");
        } finally {
            System.setErr(err);
        }
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("failing queue: task failed") && text.contains("boom here"), text);
        assertTrue(text.contains("boom pooled"), text);
        assertFalse(text.isBlank());
    }
}
