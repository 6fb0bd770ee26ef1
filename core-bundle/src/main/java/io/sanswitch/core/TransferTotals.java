package io.sanswitch.core;

import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes a provider moved over all its sockets since it was registered, closed ones included: the
 * counters a monitoring tool (JMX, a Prometheus exporter) expects to only ever grow, which a sum
 * over the open sockets is not. Counted at completion like each socket's own figures.
 */
final class TransferTotals {
    private final LongAdder in = new LongAdder();
    private final LongAdder out = new LongAdder();

    void received(long bytes) {
        in.add(bytes);
    }

    void sent(long bytes) {
        out.add(bytes);
    }

    long received() {
        return in.sum();
    }

    long sent() {
        return out.sum();
    }
}
