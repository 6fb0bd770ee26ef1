package io.sanswitch.core;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.OverlappedResult;

/**
 * Completes the operations a backend reported as finished inside the post that started them, on
 * the posting thread: a transfer never completes inside the call that posts it (docs/rules.md
 * OV-immediate, Q12), so such a report is completed here, on a thread of its own, once the SPI call
 * returned. The transport SPI forbids those reports, so only a backend that breaks it gets here.
 * One thread, started when needed and ended when idle: completions keep the order of their posts.
 */
final class LateCompletions {
    private static final Logger LOG = LoggerFactory.getLogger(LateCompletions.class);
    private static final long IDLE_SECONDS = 1;

    private final String name;
    private final Completions completions;
    private final ThreadPoolExecutor thread;
    private final AtomicBoolean warned = new AtomicBoolean();

    LateCompletions(String name, Completions completions) {
        this.name = name;
        this.completions = completions;
        this.thread = new ThreadPoolExecutor(1, 1, IDLE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name + " late completions");
            t.setDaemon(true);
            return t;
        });
        thread.allowCoreThreadTimeOut(true);
    }

    /** Completes {@code op}, claimed inside its post, with {@code result}; called once that call returned. */
    void complete(PendingOperation op, OverlappedResult result) {
        if (warned.compareAndSet(false, true)) {
            LOG.warn("{}: the backend reported {} inside its post; completing it after the call (docs/rules.md OV-immediate)",
                    name, op);
        }
        thread.execute(() -> {
            op.takeOverCompletion();
            completions.complete(op, result);
        });
    }
}
