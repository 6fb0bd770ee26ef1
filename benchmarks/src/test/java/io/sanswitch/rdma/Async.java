package io.sanswitch.rdma;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/** Runs a test's worker (a writer, a reader) on a daemon thread of its own; its outcome is the future's. */
final class Async {
    private Async() {
    }

    static <T> CompletableFuture<T> run(Callable<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(work.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "move-test");
        t.setDaemon(true);
        t.start();
        return f;
    }
}
