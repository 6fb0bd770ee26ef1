package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** Sends above the message bound go as several messages that cover the same bytes in order (SEC-2). */
class MessageSplitTest {
    @Test
    void aSendWithinTheBoundIsOneMessage() {
        List<long[][]> m = MessageSplit.split(new long[] {1000, 5000}, new long[] {10, 20}, 30);
        assertEquals(1, m.size());
        assertArrayEquals(new long[] {1000, 5000}, m.get(0)[0]);
        assertArrayEquals(new long[] {10, 20}, m.get(0)[1]);
    }

    @Test
    void largerSendsAreCutIntoMessagesOfAtMostTheBoundCoveringEveryByteInOrder() {
        Random random = new Random(3);
        for (int round = 0; round < 2000; round++) {
            int n = 1 + random.nextInt(5);
            long[] addresses = new long[n];
            long[] sizes = new long[n];
            long at = 4096;
            for (int i = 0; i < n; i++) {
                addresses[i] = at;
                sizes[i] = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(100);
                at += sizes[i] + 1000;
            }
            long max = 1 + random.nextInt(60);
            List<long[][]> messages = MessageSplit.split(addresses, sizes, max);
            int buffer = 0;
            long offset = 0;
            for (long[][] m : messages) {
                long total = 0;
                for (int j = 0; j < m[0].length; j++) {
                    while (sizes[buffer] == offset) {
                        buffer++;
                        offset = 0;
                    }
                    assertEquals(addresses[buffer] + offset, m[0][j], "round " + round);
                    offset += m[1][j];
                    total += m[1][j];
                    assertTrue(m[1][j] > 0);
                }
                assertTrue(total <= max, "a message of " + total + " > " + max);
            }
            long all = 0;
            for (long s : sizes) {
                all += s;
            }
            assertEquals(Math.max(1, (all + max - 1) / max), messages.size(), "round " + round);
        }
    }
}
