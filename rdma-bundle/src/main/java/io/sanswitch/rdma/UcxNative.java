package io.sanswitch.rdma;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UCP calls that start a request, through this bundle's own JNI library
 * ({@code libsanswitchucx.so}, {@code src/main/c/sanswitch_ucx.c}) instead of JUCX's.
 *
 * <p>Why: JUCX 1.12.1 leaks a JNI global reference (and the Java request behind it) for every
 * request that completes inside the call that started it (openucx/ucx#8829, fixed in JUCX 1.15,
 * which refuses Debian 12's libucx 1.13): every eager send, the receive of an eager message, every
 * forced close, a flush with nothing outstanding. Here a request carries a number, and the
 * library holds one weak global reference (to this class), so it does not keep this class and
 * its class loader (the bundle's) alive.
 *
 * <p>Contract (JCTools style): every {@code start*} method is called on the worker's progress
 * thread with handles of that worker. The {@link Completion} is called exactly once: inside the
 * call when UCX completed (or refused) the request there, else later from
 * {@code ucp_worker_progress} on the same thread. The return value is the pending request (for
 * {@link #cancel}), 0 when it completed in the call, or the negative {@code ucs_status_t} it
 * failed with. A request whose callback ran inside its call counts as completed in the call: the
 * library never returns a request UCX has already called back (and freed). Not called at all: a
 * completion {@link #abandon abandoned} (called then instead), or still registered when its
 * worker is destroyed ({@link #workerDestroyed}, docs/toolchain.md TC-21).
 */
final class UcxNative {
    private static final Logger LOG = LoggerFactory.getLogger(UcxNative.class);
    private static final String LIBRARY = "sanswitchucx";
    private static final String RESOURCE = "/native/linux-x86_64/lib" + LIBRARY + ".so";

    /** What a request does when it is done: status 0 = success, else a ucs_status_t. */
    @FunctionalInterface
    interface Completion {
        void completed(int status, long length);
    }

    @FunctionalInterface
    private interface Start {
        long start(long token);
    }

    private static final AtomicLong TOKENS = new AtomicLong();
    /**
     * A completion UCX may still call, and the thread that registered it: the worker's thread
     * (every start is made there), which alone knows when its worker, and with it every request
     * the worker held, is gone ({@link #workerDestroyed}).
     */
    private record Registered(Completion done, Thread thread) {
    }

    /** Requests UCX still holds, by token. Several workers (providers) may share this class. */
    private static final Map<Long, Registered> PENDING = new ConcurrentHashMap<>();
    private static final Throwable UNAVAILABILITY_CAUSE = load();

    private UcxNative() {
    }

    /**
     * Inside a framework Bundle-NativeCode answers {@code loadLibrary}; on a plain class path
     * (tests, the launcher's class path) the library is extracted from this jar to a temporary file.
     */
    private static Throwable load() {
        try {
            System.loadLibrary(LIBRARY);
            return null;
        } catch (UnsatisfiedLinkError notOnLibraryPath) {
            try (InputStream in = UcxNative.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    return new UnsatisfiedLinkError(RESOURCE + " is not in this bundle or jar");
                }
                Path file = Files.createTempFile("lib" + LIBRARY, ".so");
                try {
                    Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                    System.load(file.toString());
                    return null;
                } finally {
                    // Mapped once loaded, so not needed any more; deleted on exit instead, a copy was left
                    // behind by every JVM that ended without its exit hooks (killed, halted, crashed).
                    Files.deleteIfExists(file);
                }
            } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
                return e;
            }
        }
    }

    static boolean isAvailable() {
        return UNAVAILABILITY_CAUSE == null;
    }

    static Throwable unavailabilityCause() {
        return UNAVAILABILITY_CAUSE;
    }

    /** Requests started here that UCX has not called back yet (all workers). */
    static int pendingRequests() {
        return PENDING.size();
    }

    /**
     * Called by a worker's thread right after it destroyed its worker: UCX frees the requests the
     * worker still held without calling them back (a force-closed endpoint's requests stuck on a
     * dead peer's lane, a request of an endpoint opened as its socket ended), so every completion
     * this thread registered is dropped (not called: the operations' owners gave up on them
     * before the worker went), and the native memory of its multi-buffer sends freed.
     *
     * @return how many completions were dropped
     */
    static int workerDestroyed() {
        Thread self = Thread.currentThread();
        int[] dropped = {0};
        PENDING.values().removeIf(r -> {
            if (r.thread() == self) {
                dropped[0]++;
                return true;
            }
            return false;
        });
        int sends = releaseSendsOfThisThread();
        if (dropped[0] > 0 || sends > 0) {
            LOG.warn("{} UCX requests (and endpoint error handlers) were not called back before their worker was"
                    + " destroyed: dropped; {} multi-buffer sends freed", dropped[0], sends);
        }
        return dropped[0];
    }

    /** Frees the multi-buffer sends this thread started that UCX did not call back (after the worker is gone). */
    private static native int releaseSendsOfThisThread();

    /** Multi-buffer sends whose native memory the library still holds for UCX (all threads). */
    static native long liveMultiBufferSends();

    static long startTagSend(long endpoint, long address, long length, long tag, Completion done) {
        return start(done, 0, token -> tagSend(endpoint, address, length, tag, token));
    }

    static long startTagSend(long endpoint, long[] addresses, long[] lengths, long tag, Completion done) {
        return start(done, 0, token -> tagSendv(endpoint, addresses, lengths, tag, token));
    }

    /** Receives a probed (and removed) message of {@code length} bytes into {@code address}. */
    static long startTagReceive(long worker, long address, long length, long message, Completion done) {
        return start(done, length, token -> tagReceiveMessage(worker, address, length, message, token));
    }

    static long startFlush(long endpoint, Completion done) {
        return start(done, 0, token -> flush(endpoint, token));
    }

    /** Closes an endpoint; {@code force}: every request of it completes with an error at once. */
    static long startClose(long endpoint, boolean force, Completion done) {
        return start(done, 0, token -> close(endpoint, force, token));
    }

    /**
     * An endpoint to the peer worker at {@code address} with peer error handling; {@code failed}
     * is called (once, from progress) if the peer fails. Call {@link #forget} with the returned
     * token when the endpoint is closed.
     *
     * @return {@code [endpoint, token]}
     * @throws WorkerAddressFormat.MalformedAddress if {@code address} is not a worker address
     *         this UCX reads safely (then UCX never sees it)
     * @throws IllegalStateException with UCX's status if UCX refuses
     */
    /**
     * The UCX status of an argument the library refuses (UCS_ERR_INVALID_PARAM): arrays of a
     * multi-buffer send that do not match, a packed remote key that is none.
     */
    static final int INVALID_PARAM = -5;

    static long[] openEndpoint(long worker, byte[] address, Completion failed) {
        try {
            // The peer's bytes: UCX trusts them and aborts the process on a malformed address.
            WorkerAddressFormat.check(address);
        } catch (WorkerAddressFormat.MalformedAddress e) {
            LOG.warn("refused a peer's UCX worker address: {}", e.getMessage());
            throw e;
        }
        long token = register(failed);
        long endpoint = createEndpoint(worker, address, token);
        if (endpoint <= 0) {
            PENDING.remove(token);
            throw new IllegalStateException("ucp_ep_create: status " + endpoint);
        }
        return new long[] {endpoint, token};
    }

    /** The completion registered under {@code token} will not be called any more. */
    static void forget(long token) {
        PENDING.remove(token);
    }

    private static long register(Completion done) {
        long token = TOKENS.incrementAndGet();
        PENDING.put(token, new Registered(done, Thread.currentThread()));
        return token;
    }

    private static long start(Completion done, long immediateLength, Start call) {
        long token = register(done);
        long request;
        try {
            request = call.start(token);
        } catch (RuntimeException | Error e) {
            PENDING.remove(token);
            throw e;
        }
        if (request <= 0) {
            PENDING.remove(token);
            done.completed((int) request, request == 0 ? immediateLength : 0);
        }
        return request;
    }

    /**
     * Completes requests UCX still holds without waiting for UCX: each of {@code requests} (as
     * registered, compared by identity) is called with {@code status} now, and UCX's callback for
     * it, should it ever come, is dropped. Only for requests UCX will not carry out any more
     * (their endpoint force-closed, the peer gone): UCX keeps the request itself until it purges
     * it, at the latest when the worker is destroyed. Worker thread.
     *
     * @return how many were still pending
     */
    static int abandon(Collection<Completion> requests, int status) {
        Set<Completion> wanted = Collections.newSetFromMap(new IdentityHashMap<>());
        wanted.addAll(requests);
        List<Completion> taken = new ArrayList<>();
        PENDING.values().removeIf(r -> {
            if (wanted.contains(r.done())) {
                taken.add(r.done());
                return true;
            }
            return false;
        });
        for (Completion c : taken) {
            c.completed(status, 0);
        }
        return taken.size();
    }

    /** Called by the library from inside {@code ucp_worker_progress} (or a close). Never throws. */
    @SuppressWarnings("unused")
    private static void completed(long token, int status, long length) {
        Registered registered = PENDING.remove(token);
        if (registered == null) {
            LOG.debug("UCX completed request {}, which was abandoned", token);
            return;
        }
        Completion done = registered.done();
        try {
            done.completed(status, length);
        } catch (Throwable t) {
            LOG.error("completion of UCX request {} failed", token, t);
        }
    }

    private static native long tagSend(long endpoint, long address, long length, long tag, long token);

    private static native long tagSendv(long endpoint, long[] addresses, long[] lengths, long tag, long token);

    private static native long tagReceiveMessage(long worker, long address, long length, long message, long token);

    private static native long flush(long endpoint, long token);

    private static native long close(long endpoint, boolean force, long token);

    private static native long createEndpoint(long worker, byte[] address, long token);

    /**
     * Unpacks a remote key the peer sent: checked here ({@link PackedRemoteKey}) and again in
     * the library before UCX reads it.
     *
     * @return the unpacked key, or a negative ucs_status_t ({@link #INVALID_PARAM}: not a packed
     *         remote key)
     */
    static long unpackRemoteKey(long endpoint, byte[] packed) {
        String problem = PackedRemoteKey.problem(packed);
        if (problem != null) {
            LOG.warn("the peer's remote key is refused: {}", problem);
            return INVALID_PARAM;
        }
        return epRkeyUnpack(endpoint, packed);
    }

    /**
     * {@code ucp_ep_rkey_unpack} behind the library's own check of the key (length bounded to
     * {@link PackedRemoteKey#MAX_LENGTH}, sizes adding up): {@link #INVALID_PARAM} if it fails.
     */
    static native long epRkeyUnpack(long endpoint, byte[] packed);

    static native void destroyRemoteKey(long key);

    /** @return 0, or the negative ucs_status_t the put failed with */
    static native int put(long endpoint, long address, long length, long remoteAddress, long key);

    /** @return 0, or the negative ucs_status_t the get failed with */
    static native int get(long endpoint, long address, long length, long remoteAddress, long key);

    /** UCX's account of an endpoint's lanes ({@code ucp_ep_print_info}), or null. */
    static native String describeEndpoint(long endpoint);

    /**
     * Sleeps until the worker has events, is signalled, or {@code timeoutMillis} passed (bounded:
     * work UCX queues for its own progress raises no event).
     *
     * @return 0, or the negative ucs_status_t of a failure
     */
    static native int waitForEvents(long worker, int timeoutMillis);

    /** The loaded libucp's version: {@code (major << 16) | (minor << 8) | release}. */
    static native int ucpVersion();

    /** Completes a pending receive with UCS_ERR_CANCELED through its completion. */
    static native void cancel(long worker, long request);

    // Test hooks (package-private): the cases above that UCX does not produce on demand.

    /**
     * For the starting calls of this thread: {@code on} asks UCX to report a request that
     * completes inside its call through its callback, inside the call
     * ({@code UCP_OP_ATTR_FLAG_NO_IMM_CMPL}).
     */
    static native void callbacksInCall(boolean on);

    /** Callbacks that ran inside the call that started their request, so far (all threads). */
    static native long completionsInCall();

    /**
     * Completes {@code done} through the library's upcall made from a new native thread the JVM
     * does not know (as a thread of UCX's would).
     *
     * @return 0, or the error of creating or joining the thread
     */
    static int completeFromNativeThread(Completion done, int status, long length) {
        long token = register(done);
        int error = upcallFromNativeThread(token, status, length);
        if (error != 0) {
            PENDING.remove(token);
        }
        return error;
    }

    private static native int upcallFromNativeThread(long token, int status, long length);
}
