package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.openucx.jucx.UcxUtils;

/**
 * A send of several buffers takes its buffers from two arrays; the library checks them before it
 * reads them: arrays of different lengths (it used to read as many lengths as there are
 * addresses, past the end of a shorter array), a missing array, no buffer, a negative length
 * are refused with UCS_ERR_INVALID_PARAM, reported once through the completion, on a real
 * endpoint, and nothing is sent.
 */
class UcxMultiBufferSendArgumentsTest {

    @Test
    void mismatchedMissingEmptyOrNegativeArraysAreRefusedWithInvalidParam() throws Exception {
        try (UcxWorkerPair pair = UcxWorkerPair.open()) {
            ByteBuffer data = ByteBuffer.allocateDirect(64);
            assertEquals(0, pair.send(data).status(), "the send that wires the endpoint up");
            long a = UcxUtils.getAddress(data);

            refused(pair, new long[] {a, a + 8, a + 16}, new long[] {8});
            refused(pair, new long[] {a}, new long[] {8, 8, 8});
            refused(pair, null, new long[] {8});
            refused(pair, new long[] {a}, null);
            refused(pair, new long[0], new long[0]);
            refused(pair, new long[] {a, a + 8}, new long[] {8, -1});

            // Matching arrays still go out (a positive check that the endpoint works).
            List<Integer> done = new ArrayList<>();
            long request = UcxNative.startTagSend(pair.endpoint, new long[] {a, a + 8}, new long[] {8, 8}, UcxWorkerPair.TAG,
                    (status, ignored) -> done.add(status));
            if (request > 0) {
                pair.progressUntil(() -> !done.isEmpty(), "the good send");
            }
            assertEquals(List.of(0), done);
        }
    }

    private static void refused(UcxWorkerPair pair, long[] addresses, long[] lengths) {
        List<Integer> done = new ArrayList<>();
        long request = UcxNative.startTagSend(pair.endpoint, addresses, lengths, UcxWorkerPair.TAG,
                (status, ignored) -> done.add(status));
        String what = describe(addresses) + " / " + describe(lengths);
        assertEquals(UcxNative.INVALID_PARAM, request, what);
        assertEquals(List.of(UcxNative.INVALID_PARAM), done, what + ": completions");
    }

    private static String describe(long[] array) {
        return array == null ? "null" : array.length + " entries";
    }
}
