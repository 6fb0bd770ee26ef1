package io.sanswitch.core.switcher;

import io.sanswitch.spi.OverlappedResult;

/**
 * The context of every overlapped the switch posts: what to do when the provider completes it. It
 * must only enqueue (it runs inside the provider's upcall).
 */
@FunctionalInterface
interface IoCompletion {
    void completed(OverlappedResult result);
}
