package io.sanswitch.rdma;

import org.openucx.jucx.NativeLibs;
import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpParams;

/**
 * Whether UCX can be used in this JVM, probed once (STYLE 1.5, after Netty's {@code Epoll}):
 * JUCX's JNI library loads and a context opens against the system's libucx. Without it the
 * bundle registers no transport and says why.
 */
public final class Ucx {
    private static final Throwable UNAVAILABILITY_CAUSE = probe();

    private Ucx() {
    }

    private static Throwable probe() {
        try {
            NativeLibs.load();
            new UcpContext(new UcpParams().requestStreamFeature()).close();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    public static boolean isAvailable() {
        return UNAVAILABILITY_CAUSE == null;
    }

    /** Why UCX is not available, or {@code null}. */
    public static Throwable unavailabilityCause() {
        return UNAVAILABILITY_CAUSE;
    }
}
