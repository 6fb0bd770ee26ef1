package io.sanswitch.core.switcher;

import io.sanswitch.spi.OverlappedResult;

/**
 * The context of every overlapped the switch posts: what to do when the provider completes it. It
 * runs inside the provider's upcall, so it never blocks: it enqueues, or (a success, the
 * connection's queue idle) runs the connection's own non-blocking code there ({@link Connection#whenDone}).
 */
@FunctionalInterface
interface IoCompletion {
    void completed(OverlappedResult result);
}
