package io.sanswitch.rdma;

import org.openucx.jucx.NativeLibs;
import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpParams;

/**
 * Whether UCX can be used in this JVM, probed once (as Netty's {@code Epoll} does):
 * JUCX's JNI library loads and a context opens against the system's libucx. Without it the
 * bundle registers no transport and says why.
 */
public final class Ucx {
    private static final Throwable UNAVAILABILITY_CAUSE = probe();

    private Ucx() {
    }

    private static Throwable probe() {
        try {
            // Throws with JUCX's own account when it extracted libjucx.so and that failed.
            NativeLibs.load();
        } catch (Throwable t) {
            return t;
        }
        try {
            new UcpContext(new UcpParams().requestStreamFeature()).close();
            // This bundle's own JNI library (UcxNative), bound to the same libucp.
            return UcxNative.unavailabilityCause();
        } catch (UnsatisfiedLinkError unbound) {
            return linkerReason(unbound);
        } catch (Throwable t) {
            return t;
        }
    }

    /**
     * Inside a bundle JUCX loads libjucx.so through {@code System.loadLibrary} and swallows its
     * failure, so the first native call only says that it is unbound. Asking again from this
     * bundle's class loader gives the dynamic linker's reason (for example libucp.so.0 missing).
     */
    private static Throwable linkerReason(UnsatisfiedLinkError unbound) {
        try {
            System.loadLibrary("jucx");
            return unbound;
        } catch (Throwable reason) {
            return reason;
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
