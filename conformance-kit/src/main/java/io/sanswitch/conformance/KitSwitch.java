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
import io.sanswitch.testing.Eventually;

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
        final AtomicInteger resets = new AtomicInteger();

        /** How often the provider reset this event so far. */
        public int resets() {
            return resets.get();
        }

        /** Waits for the next signal. */
        public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
            return signals.poll(timeout, unit) != null;
        }
    }

    final Map<Overlapped, AtomicInteger> completions = new ConcurrentHashMap<>();
    private final Map<Overlapped, Integer> seenCompletions = new ConcurrentHashMap<>();
    private final Map<Overlapped, Long> firstCompletionSeqs = new ConcurrentHashMap<>();
    final List<Long> completionSeqs = new CopyOnWriteArrayList<>();
    /** The overlappeds of the completion upcalls, in the order the upcalls came. */
    final List<Overlapped> completionOrder = new CopyOnWriteArrayList<>();
    final List<Long> eventSeqs = new CopyOnWriteArrayList<>();
    final Map<Long, AtomicInteger> handleCloses = new ConcurrentHashMap<>();
    /**
     * The kit's handles start far from any number a provider uses itself and step by more than one,
     * so a provider that upcalls with its own number, a neighbour's handle or an off-by-one value
     * is caught (docs/rules.md OV-handle).
     */
    static final long FIRST_HANDLE = 0x5A17_0000_0000L;
    static final long HANDLE_STEP = 0x101;
    private final AtomicLong handles = new AtomicLong(FIRST_HANDLE);
    private final Map<SocketHandle, Long> handleOfSocket = new ConcurrentHashMap<>();
    private final Map<Overlapped, List<Long>> completionHandles = new ConcurrentHashMap<>();

    @Override
    public long createSocketHandle(SocketHandle providerSocket) {
        long h = handles.getAndAdd(HANDLE_STEP);
        handleOfSocket.put(providerSocket, h);
        return h;
    }

    /** The handle this switch gave {@code providerSocket}, or {@code null} if it gave none. */
    public Long handleOf(SocketHandle providerSocket) {
        return handleOfSocket.get(providerSocket);
    }

    /** The handles the completion upcalls for {@code ov} carried, in order. */
    public List<Long> completionHandlesOf(Overlapped ov) {
        return List.copyOf(completionHandles.getOrDefault(ov, List.of()));
    }

    /** How often the provider made {@code closeSocketHandle} for {@code switchHandle}. */
    public int closesOf(long switchHandle) {
        AtomicInteger n = handleCloses.get(switchHandle);
        return n == null ? 0 : n.get();
    }

    /** Every handle the provider closed, whether or not this switch gave it out. */
    public java.util.Set<Long> closedHandles() {
        return java.util.Set.copyOf(handleCloses.keySet());
    }

    @Override
    public void closeSocketHandle(long switchHandle) {
        handleCloses.computeIfAbsent(switchHandle, k -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
        long seq = SEQUENCE.incrementAndGet();
        completionSeqs.add(seq);
        firstCompletionSeqs.putIfAbsent(overlapped, seq);
        completionOrder.add(overlapped);
        completionHandles.computeIfAbsent(overlapped, k -> new CopyOnWriteArrayList<>()).add(switchHandle);
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
        if (event instanceof Event e) {
            e.resets.incrementAndGet();
        }
    }

    /**
     * Completion upcalls for {@code ov} once the one expected in its mode arrived (the provider
     * publishes the result on the overlapped before it upcalls, so a notify-mode upcall may trail
     * the result by a moment). A second, wrong upcall may come any time later, so the count seen
     * now is also remembered and checked again by {@link #assertNoLateCompletions} once no thread
     * of the provider is left to make one.
     */
    public int settledCompletionsOf(Overlapped ov) throws InterruptedException {
        int expected = ov.mode() == Overlapped.Mode.NOTIFY ? 1 : 0;
        Eventually.until("completion upcall of " + ov, () -> completionsOf(ov) >= expected);
        int now = completionsOf(ov);
        seenCompletions.put(ov, now);
        return now;
    }

    /**
     * Fails when an operation got another completion upcall after {@link #settledCompletionsOf}
     * counted it. Meaningful once the provider's final cleanup returned and its threads are gone:
     * then no upcall can come any more (docs/rules.md LC-d).
     */
    public void assertNoLateCompletions() {
        seenCompletions.forEach((ov, seen) -> {
            if (completionsOf(ov) != seen) {
                throw new AssertionError("completion upcalls of " + ov + ": " + seen
                        + " when it was checked, " + completionsOf(ov) + " once the provider was gone");
            }
        });
    }

    /** Where the first completion upcall for {@code ov} falls in the kit's sequence ({@code Long.MAX_VALUE}: none yet). */
    public long completionSeqOf(Overlapped ov) {
        return firstCompletionSeqs.getOrDefault(ov, Long.MAX_VALUE);
    }

    /** Completion upcalls made for {@code ov} so far. */
    public int completionsOf(Overlapped ov) {
        AtomicInteger n = completions.get(ov);
        return n == null ? 0 : n.get();
    }
}
