package io.sanswitch.core.switcher;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;

import io.sanswitch.api.SwitchSocket;

/** For tests outside this package (the scripted transport's): the switch's own calls a test plays. */
public final class SwitchInternals {
    private SwitchInternals() {
    }

    /** A resume socket of the switch's own to {@code remote} over {@code provider} (docs/migration.md section 6). */
    public static CompletableFuture<SwitchSocket> connectForResume(Switch sw, InetSocketAddress remote, String provider) {
        return sw.connectForResume(remote, provider);
    }

    /**
     * Runs {@code task} on one of the switch's io threads, as the pool runs a connection's queue (a
     * completion that came while the queue was busy): a test's provider completion made there runs the
     * connection's work on that thread, not on the test's.
     */
    public static void onIoThread(Switch sw, Runnable task) {
        sw.newQueue("test task").execute(task);
    }

    /** The MOVE a resume socket sends for the session it carries (docs/rules.md SW-migrate-early). */
    public static CompletableFuture<Boolean> tellPeerMoves(SwitchSocket resumeSocket) {
        return ((Connection) resumeSocket).tellPeerMoves();
    }

    /** Registers the buffers of a connection's first blocks of {@code length} bytes ahead, as a resume socket connected ahead does. */
    public static void prepareBlocks(SwitchSocket s, int length) {
        ((Connection) s).prepareBlocks(length);
    }
}
