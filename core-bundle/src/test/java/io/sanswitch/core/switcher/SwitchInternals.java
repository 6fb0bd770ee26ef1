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

    /** The MOVE a resume socket sends for the session it carries (docs/rules.md SW-migrate-early). */
    public static CompletableFuture<Boolean> tellPeerMoves(SwitchSocket resumeSocket) {
        return ((Connection) resumeSocket).tellPeerMoves();
    }
}
