package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * A completion the library hands to Java from a native thread the JVM does not know (as a thread
 * of UCX's would be) arrives: the library attaches the thread for the call instead of dropping
 * the completion, which would leave its operation waiting for ever.
 */
class UcxForeignThreadUpcallTest {

    @Test
    void aCompletionFromAnUnattachedNativeThreadArrivesOnce() {
        assertTrue(UcxNative.isAvailable(), () -> "the JNI library: " + UcxNative.unavailabilityCause());
        List<String> seen = new ArrayList<>();
        List<Thread> on = new ArrayList<>();
        int pendingBefore = UcxNative.pendingRequests();
        int error = UcxNative.completeFromNativeThread((status, length) -> {
            synchronized (seen) {
                seen.add(status + "/" + length);
                on.add(Thread.currentThread());
            }
        }, UcxStatus.CONNECTION_RESET, 42);
        assertEquals(0, error, "pthread error");
        // The native call returns once the native thread has ended: the completion came or never will.
        synchronized (seen) {
            assertEquals(List.of(UcxStatus.CONNECTION_RESET + "/42"), seen);
            assertNotEquals(Thread.currentThread(), on.get(0), "called on the native thread");
        }
        assertEquals(pendingBefore, UcxNative.pendingRequests(), "the completion is still registered");
    }
}
