package io.sanswitch.rdma;

import java.util.ArrayList;
import java.util.List;

/** Cuts a gather list (addresses and sizes) into messages of at most a given size, in order. */
final class MessageSplit {
    private MessageSplit() {
    }

    /** @return per message {@code {addresses, sizes}}; one message when the whole fits */
    static List<long[][]> split(long[] addresses, long[] sizes, long max) {
        List<long[][]> messages = new ArrayList<>();
        List<Long> a = new ArrayList<>();
        List<Long> n = new ArrayList<>();
        long room = max;
        for (int i = 0; i < addresses.length; i++) {
            long at = addresses[i];
            long left = sizes[i];
            while (left > 0) {
                long take = Math.min(left, room);
                a.add(at);
                n.add(take);
                at += take;
                left -= take;
                room -= take;
                if (room == 0) {
                    messages.add(pack(a, n));
                    room = max;
                }
            }
        }
        if (!a.isEmpty() || messages.isEmpty()) {
            messages.add(pack(a, n));
        }
        return messages;
    }

    private static long[][] pack(List<Long> a, List<Long> n) {
        long[][] m = {a.stream().mapToLong(Long::longValue).toArray(), n.stream().mapToLong(Long::longValue).toArray()};
        a.clear();
        n.clear();
        return m;
    }
}
