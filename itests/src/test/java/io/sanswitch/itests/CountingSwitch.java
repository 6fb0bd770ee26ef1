package io.sanswitch.itests;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;

/** A switch for the SPI-level ITs: counts completion upcalls and passes event signals on to {@link Signal}s. */
final class CountingSwitch implements UpcallTable {
    final Map<Overlapped, AtomicInteger> completions = new ConcurrentHashMap<>();
    final AtomicInteger handles = new AtomicInteger();

    @Override
    public long createSocketHandle(SocketHandle providerSocket) {
        return handles.incrementAndGet();
    }

    @Override
    public void closeSocketHandle(long switchHandle) {
    }

    @Override
    public void completeOverlappedRequest(long switchHandle, Overlapped ov, OverlappedResult result) {
        completions.computeIfAbsent(ov, k -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public void setEvent(EventHandle event) {
        if (event instanceof Signal s) {
            s.signals.add(Boolean.TRUE);
        }
    }

    @Override
    public void resetEvent(EventHandle event) {
    }

    int completionsOf(Overlapped ov) {
        AtomicInteger n = completions.get(ov);
        return n == null ? 0 : n.get();
    }

    /** An event object the test can wait on. */
    static final class Signal implements EventHandle {
        private static final long WAIT_MILLIS = 20_000;
        final LinkedBlockingQueue<Boolean> signals = new LinkedBlockingQueue<>();

        boolean await() throws InterruptedException {
            return signals.poll(WAIT_MILLIS, TimeUnit.MILLISECONDS) != null;
        }
    }
}
