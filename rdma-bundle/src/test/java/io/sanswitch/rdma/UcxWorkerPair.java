package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpParams;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;

/**
 * Two UCX workers of one context and an endpoint from the first to the second (through
 * {@link UcxNative}, with peer error handling, as a connection has), for tests that call the JNI
 * library directly. The test thread is the thread of both workers.
 */
final class UcxWorkerPair implements AutoCloseable {
    static final long TAG = 0x5A17L;
    private static final long WAIT_NANOS = 10_000_000_000L;

    final UcpContext context;
    final UcpWorker sender;
    final UcpWorker receiver;
    final long endpoint;
    private final long endpointToken;
    private final List<Runnable> onClose = new ArrayList<>();

    /** One completion as the library reported it. */
    record Done(int status, long length) {
    }

    private UcxWorkerPair(UcpContext context, UcpWorker sender, UcpWorker receiver, long[] endpoint) {
        this.context = context;
        this.sender = sender;
        this.receiver = receiver;
        this.endpoint = endpoint[0];
        this.endpointToken = endpoint[1];
    }

    static UcxWorkerPair open() {
        assertTrue(UcxNative.isAvailable(), () -> "the JNI library: " + UcxNative.unavailabilityCause());
        UcpContext context = new UcpContext(new UcpParams().requestTagFeature().requestRmaFeature());
        UcpWorker sender = context.newWorker(new UcpWorkerParams());
        UcpWorker receiver = context.newWorker(new UcpWorkerParams());
        ByteBuffer address = receiver.getAddress();
        byte[] bytes = new byte[address.remaining()];
        address.get(bytes);
        long[] endpoint = UcxNative.openEndpoint(sender.getNativeId(), bytes, (status, ignored) -> {
        });
        return new UcxWorkerPair(context, sender, receiver, endpoint);
    }

    /** Progresses both workers until {@code until} holds; fails after a bounded wait. */
    void progressUntil(BooleanSupplier until, String what) throws Exception {
        long deadline = System.nanoTime() + WAIT_NANOS;
        while (!until.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting for " + what);
            }
            sender.progress();
            receiver.progress();
        }
    }

    /** Sends {@code buffer} and waits for the send's completion (e.g. to get the endpoint wired up). */
    Done send(ByteBuffer buffer) throws Exception {
        List<Done> done = new ArrayList<>();
        long request = UcxNative.startTagSend(endpoint, UcxUtils.getAddress(buffer), buffer.remaining(), TAG,
                (status, length) -> done.add(new Done(status, length)));
        assertTrue(request >= 0, "send: status " + request);
        progressUntil(() -> !done.isEmpty(), "a send's completion");
        return done.get(0);
    }

    /** Runs {@code cleanup} (in reverse order of these calls) when the pair closes, before the workers go. */
    void onClose(Runnable cleanup) {
        onClose.add(0, cleanup);
    }

    @Override
    public void close() {
        onClose.forEach(Runnable::run);
        UcxNative.startClose(endpoint, true, (status, ignored) -> {
        });
        UcxNative.forget(endpointToken);
        sender.close();
        receiver.close();
        context.close();
    }
}
