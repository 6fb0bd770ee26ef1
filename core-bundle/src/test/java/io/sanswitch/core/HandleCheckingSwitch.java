package io.sanswitch.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;

/**
 * A switch that remembers which handle it gave which provider socket and checks every upcall
 * about a socket against it (docs/rules.md OV-handle). Its handles start far from any number the
 * engine uses itself (descriptor serials, generations), and step by more than one, so a provider
 * that passed its own number, a neighbour's handle or an off-by-one value is caught. Each
 * operation's overlapped carries, as its context, the provider socket it was posted on.
 */
final class HandleCheckingSwitch implements UpcallTable {
    static final long FIRST_HANDLE = 0x5A17_0000_0000L;
    static final long STEP = 0x101;

    private final AtomicLong next = new AtomicLong(FIRST_HANDLE);
    final Map<SocketHandle, Long> handleOf = new ConcurrentHashMap<>();
    final List<Long> closedHandles = new CopyOnWriteArrayList<>();
    final Map<Overlapped, List<Long>> completionHandles = new ConcurrentHashMap<>();
    /** Upcalls whose handle is not the one given to the socket they are about. */
    final List<String> mismatches = new CopyOnWriteArrayList<>();

    @Override
    public long createSocketHandle(SocketHandle providerSocket) {
        long h = next.getAndAdd(STEP);
        handleOf.put(providerSocket, h);
        return h;
    }

    @Override
    public void closeSocketHandle(long switchHandle) {
        closedHandles.add(switchHandle);
        if (!handleOf.containsValue(switchHandle)) {
            mismatches.add("closeSocketHandle(" + switchHandle + "): a handle this switch never gave out");
        }
    }

    @Override
    public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
        completionHandles.computeIfAbsent(overlapped, k -> new CopyOnWriteArrayList<>()).add(switchHandle);
        Long expected = overlapped.context() instanceof SocketHandle s ? handleOf.get(s) : null;
        if (expected == null || expected != switchHandle) {
            mismatches.add("completion of " + overlapped + " (" + result + ") carried " + switchHandle
                    + ", the socket's handle is " + expected);
        }
    }

    @Override
    public void setEvent(EventHandle event) {
    }

    @Override
    public void resetEvent(EventHandle event) {
    }

    List<Long> handlesGiven() {
        return new ArrayList<>(handleOf.values());
    }
}
