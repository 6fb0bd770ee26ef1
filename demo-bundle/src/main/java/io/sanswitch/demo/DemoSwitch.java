package io.sanswitch.demo;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.sanswitch.spi.EventHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.UpcallTable;
import io.sanswitch.spi.WsaError;

/**
 * The demo's stand-in for the switch's upcall table: it counts what a final cleanup does to the
 * switch (aborted completions, socket handles closed) so the demo can show those figures as they
 * happen and hold them against the provider's own cleanup history.
 */
final class DemoSwitch implements UpcallTable {
    final AtomicInteger aborted = new AtomicInteger();
    final AtomicInteger handlesClosed = new AtomicInteger();
    private final AtomicLong handles = new AtomicLong();

    /** An event object a thread can wait on. */
    static final class Signal implements EventHandle {
        private final LinkedBlockingQueue<Boolean> signals = new LinkedBlockingQueue<>();

        boolean await(long millis) throws InterruptedException {
            return signals.poll(millis, TimeUnit.MILLISECONDS) != null;
        }
    }

    @Override
    public long createSocketHandle(SocketHandle providerSocket) {
        return handles.incrementAndGet();
    }

    @Override
    public void closeSocketHandle(long switchHandle) {
        handlesClosed.incrementAndGet();
    }

    @Override
    public void completeOverlappedRequest(long switchHandle, Overlapped overlapped, OverlappedResult result) {
        if (result.error() == WsaError.WSA_OPERATION_ABORTED) {
            aborted.incrementAndGet();
        }
    }

    @Override
    public void setEvent(EventHandle event) {
        if (event instanceof Signal s) {
            s.signals.offer(Boolean.TRUE);
        }
    }

    @Override
    public void resetEvent(EventHandle event) {
    }
}
