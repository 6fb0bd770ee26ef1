package io.sanswitch.core;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.WsaException;

/**
 * The switch side of the unit tests: an upcall table that records every upcall in the scripted
 * transport's journal (same sequence), counts completions per overlapped and handle closes per
 * handle, and can run a test's code inside the completion upcall.
 */
final class RecordingSwitch implements UpcallTable {
    final ScriptedTransport journal;
    final Map<Overlapped, AtomicInteger> completions = new ConcurrentHashMap<>();
    final Map<Long, AtomicInteger> handleCloses = new ConcurrentHashMap<>();
    final List<Long> eventsSet = new CopyOnWriteArrayList<>();
    final AtomicInteger eventsReset = new AtomicInteger();
    private final AtomicLong handles = new AtomicLong(1000);
    volatile Consumer<Overlapped> insideCompletion = ov -> { };
    /** Runs inside the setEvent upcall, on the delivering thread, once the signal is journalled. */
    volatile Consumer<EventHandle> insideSetEvent = e -> { };

    RecordingSwitch(ScriptedTransport journal) {
        this.journal = journal;
    }

    /** An event object of this switch. */
    static final class Event implements EventHandle {
    }

    @Override
    public long createSocketHandle(SocketHandle providerSocket) throws WsaException {
        long h = handles.incrementAndGet();
        journal.log("createSocketHandle", h);
        return h;
    }

    @Override
    public void closeSocketHandle(long switchHandle) {
        handleCloses.computeIfAbsent(switchHandle, k -> new AtomicInteger()).incrementAndGet();
        journal.log("closeSocketHandle", switchHandle);
    }

    @Override
    public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
        journal.log("complete", overlapped);
        completions.computeIfAbsent(overlapped, k -> new AtomicInteger()).incrementAndGet();
        insideCompletion.accept(overlapped);
    }

    @Override
    public void setEvent(EventHandle event) {
        eventsSet.add(ScriptedTransport.SEQUENCE.incrementAndGet());
        journal.log("setEvent", event);
        insideSetEvent.accept(event);
    }

    @Override
    public void resetEvent(EventHandle event) {
        eventsReset.incrementAndGet();
    }

    int completionsOf(Overlapped ov) {
        AtomicInteger n = completions.get(ov);
        return n == null ? 0 : n.get();
    }
}
