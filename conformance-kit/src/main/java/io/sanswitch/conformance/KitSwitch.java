package io.sanswitch.conformance;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;

/**
 * The kit's switch: records every upcall with one sequence shared by both sides of a test, so
 * the suites can check what happened before and after a cleanup.
 */
public final class KitSwitch implements UpcallTable {
    /** One sequence for all switches of a JVM. */
    static final AtomicLong SEQUENCE = new AtomicLong();

    /** One event object of this switch: set/reset counts and a queue of signals. */
    public static final class Event implements EventHandle {
        final LinkedBlockingQueue<Long> signals = new LinkedBlockingQueue<>();

        /** Waits for the next signal. */
        public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
            return signals.poll(timeout, unit) != null;
        }
    }

    final Map<Overlapped, AtomicInteger> completions = new ConcurrentHashMap<>();
    final List<Long> completionSeqs = new CopyOnWriteArrayList<>();
    /** The overlappeds of the completion upcalls, in the order the upcalls came. */
    final List<Overlapped> completionOrder = new CopyOnWriteArrayList<>();
    final List<Long> eventSeqs = new CopyOnWriteArrayList<>();
    final Map<Long, AtomicInteger> handleCloses = new ConcurrentHashMap<>();
    private final AtomicLong handles = new AtomicLong();

    @Override
    public long createSocketHandle(SocketHandle providerSocket) {
        return handles.incrementAndGet();
    }

    @Override
    public void closeSocketHandle(long switchHandle) {
        handleCloses.computeIfAbsent(switchHandle, k -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
        completionSeqs.add(SEQUENCE.incrementAndGet());
        completionOrder.add(overlapped);
        completions.computeIfAbsent(overlapped, k -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public void setEvent(EventHandle event) {
        long seq = SEQUENCE.incrementAndGet();
        eventSeqs.add(seq);
        if (event instanceof Event e) {
            e.signals.add(seq);
        }
    }

    @Override
    public void resetEvent(EventHandle event) {
    }

    /**
     * Completion upcalls for {@code ov} once the one expected in its mode had time to arrive: the
     * provider publishes the result on the overlapped before it upcalls (Overlapped contract), so
     * a notify-mode upcall may trail the result by a moment. Then waits a little longer so that a
     * second, wrong upcall would be seen too.
     */
    public int settledCompletionsOf(Overlapped ov) throws InterruptedException {
        int expected = ov.mode() == Overlapped.Mode.NOTIFY ? 1 : 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (completionsOf(ov) < expected && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        Thread.sleep(expected == 0 ? 5 : 1);
        return completionsOf(ov);
    }

    /** Completion upcalls made for {@code ov} so far. */
    public int completionsOf(Overlapped ov) {
        AtomicInteger n = completions.get(ov);
        return n == null ? 0 : n.get();
    }
}
