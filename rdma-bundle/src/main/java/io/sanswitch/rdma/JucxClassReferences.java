package io.sanswitch.rdma;

import org.osgi.framework.FrameworkUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JUCX's JNI global references to its own classes, released while the bundle is stopped
 * ({@code src/main/c/jucx_class_refs.c} says how and why). JUCX 1.12.1 takes them when its library
 * loads and never lets go while the bundle's class loader lives, and a JNI global reference is a GC
 * root: without this, every revision retired by an update and refresh stays loaded for the life of
 * the JVM, with its metaspace and its copy of libjucx.so (docs/architecture.md, hot swap).
 *
 * <p>Only inside a framework: on a class path the class loader is never collected, and other code
 * of the JVM may go on using JUCX after a component's deactivation.
 */
final class JucxClassReferences {
    private static final Logger LOG = LoggerFactory.getLogger(JucxClassReferences.class);

    private JucxClassReferences() {
    }

    /** Bundle start: JUCX must have its references before it is used (again, after a stop without update). */
    static void holdForThisRevision() {
        if (!applies()) {
            return;
        }
        int taken = hold();
        if (taken < 0) {
            LOG.warn("JUCX's class references could not be taken again; UCX is used without them");
        } else if (taken > 0) {
            LOG.debug("JUCX's class references taken again: {}", taken);
        }
    }

    /** Bundle stop, after every transport of this revision closed: nothing of JUCX runs any more. */
    static void releaseForThisRevision() {
        if (!applies()) {
            return;
        }
        int running = UcxWorkerThread.alive();
        if (running > 0) {
            // JUCX would create objects from the released references on those threads: keep them (and the revision).
            LOG.warn("JUCX's class references kept: {} UCX worker thread(s) of this bundle still running; this bundle"
                    + " revision stays loaded after an update and refresh", running);
            return;
        }
        int released = release();
        if (released < 0) {
            LOG.warn("JUCX's class references were not found in its library (not JUCX 1.12.1's libjucx.so?): this"
                    + " bundle revision stays loaded after an update and refresh");
        } else {
            LOG.debug("JUCX's class references released: {}", released);
        }
    }

    private static boolean applies() {
        return UcxNative.isAvailable() && FrameworkUtil.getBundle(JucxClassReferences.class) != null;
    }

    private static native int release();

    private static native int hold();
}
