package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpTagMessage;

/**
 * A request whose callback UCX runs inside the call that starts it (and which the callback frees)
 * is reported as completed in the call, once, and its pointer is never handed out: Java would
 * otherwise keep it for a later {@code ucp_request_cancel} of freed memory.
 *
 * <p>UCX 1.13 does this on demand: with {@code UCP_OP_ATTR_FLAG_NO_IMM_CMPL} a send or receive
 * that completes in its call calls its callback there and still returns the request
 * ({@code ucp_request_imm_cmpl_param}, {@code src/ucp/core/ucp_request.inl}); the library's test
 * hook {@link UcxNative#callbacksInCall} asks for that. Real UCX, two workers of one context.
 */
class UcxCallbackInCallTest {
    private static final int ATTEMPTS = 100;

    @AfterEach
    void hookOff() {
        UcxNative.callbacksInCall(false);
    }

    @Test
    void sendsAndReceivesWhoseCallbackRanInTheirCallAreCompletedThereAndNoRequestIsHandedOut() throws Exception {
        try (UcxWorkerPair pair = UcxWorkerPair.open()) {
            ByteBuffer data = ByteBuffer.allocateDirect(8).putLong(0, 0x0123456789ABCDEFL);
            assertEquals(0, pair.send(data).status(), "the send that wires the endpoint up");
            long inCallBefore = UcxNative.completionsInCall();
            int pendingBefore = UcxNative.pendingRequests(); // the endpoint's error handler
            UcxNative.callbacksInCall(true);

            long address = UcxUtils.getAddress(data);
            completesInItsCall(pair, "a send", done -> UcxNative.startTagSend(pair.endpoint, address, 8, UcxWorkerPair.TAG, done));
            completesInItsCall(pair, "a send of two buffers", done -> UcxNative.startTagSend(pair.endpoint,
                    new long[] {address, address + 4}, new long[] {4, 4}, UcxWorkerPair.TAG, done));

            int received = 0;
            ByteBuffer into = ByteBuffer.allocateDirect(8);
            for (int messages = 3; received < messages; received++) { // the warm-up send and the two above
                UcpTagMessage[] message = new UcpTagMessage[1];
                pair.progressUntil(() -> (message[0] = pair.receiver.tagProbeNonBlocking(UcxWorkerPair.TAG, -1L, true)) != null,
                        "a message");
                UcpTagMessage m = message[0];
                List<UcxWorkerPair.Done> done = completesInItsCall(pair, "a receive", d -> UcxNative.startTagReceive(
                        pair.receiver.getNativeId(), UcxUtils.getAddress(into), m.getRecvLength(), m.getNativeId(), d));
                assertEquals(new UcxWorkerPair.Done(0, 8), done.get(0));
                byte[] got = new byte[8];
                into.get(0, got);
                byte[] sent = new byte[8];
                data.get(0, sent);
                assertArrayEquals(sent, got);
            }
            assertTrue(UcxNative.completionsInCall() > inCallBefore,
                    "UCX called back inside the starting call (else this test tested nothing)");
            assertEquals(pendingBefore, UcxNative.pendingRequests(), "completions still expected");
        }
    }

    @FunctionalInterface
    private interface Start {
        long start(UcxNative.Completion done);
    }

    /**
     * Starts requests with {@code start} until one completes inside its call (a bounded number
     * of attempts), and checks that such a one is reported as completed there: the call returns
     * 0 or a status, never a request, and the completion came exactly once. One that stays
     * pending is progressed to its end.
     *
     * @return the completions of the request that completed in its call
     */
    private static List<UcxWorkerPair.Done> completesInItsCall(UcxWorkerPair pair, String what, Start start)
            throws Exception {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            List<UcxWorkerPair.Done> done = new ArrayList<>();
            long request = start.start((status, length) -> done.add(new UcxWorkerPair.Done(status, length)));
            if (!done.isEmpty()) {
                assertTrue(request <= 0, what + ": the call returned request 0x" + Long.toHexString(request)
                        + " although its callback had already run (and freed it)");
                assertEquals(1, done.size(), what + ": completions");
                return done;
            }
            assertTrue(request > 0, what + ": no completion although the call returned " + request);
            pair.progressUntil(() -> !done.isEmpty(), what + "'s completion");
            assertEquals(1, done.size(), what + ": completions");
        }
        throw new AssertionError(what + ": none of " + ATTEMPTS + " completed inside its call");
    }
}
