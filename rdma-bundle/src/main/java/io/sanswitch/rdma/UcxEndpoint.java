package io.sanswitch.rdma;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/**
 * A connection's UCX endpoint (ucp_ep_h) to the peer's worker: tagged sends, RDMA put/get with
 * the peer's packed keys, the requests UCX holds for the connection, and the endpoint's close.
 * Worker thread only, every method and field.
 */
final class UcxEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(UcxEndpoint.class);
    /** How long requests to a failed peer may stay with UCX after the forced close. */
    static final Duration ABANDON_AFTER = Duration.ofMillis(200);
    /**
     * The largest tagged message either side sends; a larger send goes as several messages. A
     * message that does not fit the posted receive is staged, so this bounds what a peer can make
     * this side allocate (docs/security.md, SEC-2).
     */
    static final long MAX_MESSAGE = 64L << 20;

    /** The endpoint's lifecycle (docs/rules.md BG-close: its close is forced or flushing, and UCX calls it back). */
    enum State {
        /** Not opened yet. */
        NONE,
        OPEN,
        /**
         * Its close was asked for inside a UCX callback and is made right after the progress round
         * (docs/toolchain.md TC-23): no new request starts on it.
         */
        CLOSE_ASKED,
        /** Its close was started (forced or flushing); UCX has not called it back yet. */
        CLOSING,
        /** UCX called the close back: no request of it is inside UCX any more. */
        CLOSED
    }

    private final UcxTransport owner;
    private final UcxWorkerThread worker;
    /** The endpoint (ucp_ep_h), 0 before it exists; and its error handler's token. */
    private long handle;
    private long token;
    /** The tag this side sends with (the peer's connection id). */
    private long sendTag;
    private State state = State.NONE;
    /** Its close was forced (docs/rules.md RD-exact: a flush that completes afterwards proves nothing). */
    private boolean forced;
    /** A close asked for inside a callback ({@link State#CLOSE_ASKED}) is to be forced. */
    private boolean forceAsked;
    /**
     * Tagged messages at the peer: it learns the count at an orderly close and ends its stream
     * after it (docs/rules.md SK-close-teardown).
     */
    private final DeliveredMessages messages = new DeliveredMessages();
    /**
     * Unpacked remote keys (ucp_rkey_h) of the peer's exposures used on this connection, by exposure
     * number (a sealed descriptor's number names one exposure of the peer: docs/rules.md RD-access).
     */
    private final Map<Long, Long> remoteKeys = new HashMap<>();
    /**
     * Completions of the requests UCX holds for this connection (started, not called back yet), by
     * identity: teardown progresses until it is empty. Receives are counted too.
     */
    private final Set<UcxNative.Completion> inUcx = Collections.newSetFromMap(new IdentityHashMap<>());

    UcxEndpoint(UcxTransport owner, UcxWorkerThread worker) {
        this.owner = owner;
        this.worker = worker;
    }

    /** Opens the endpoint to the peer's worker; {@code failed} is called when UCX reports the peer gone. */
    void open(byte[] peerWorker, long peerConnectionId, Runnable failed) {
        long[] opened = UcxNative.openEndpoint(owner.workerHandle(), peerWorker, (status, ignored) -> {
            LOG.debug("endpoint error {}", status);
            failed.run();
        });
        handle = opened[0];
        token = opened[1];
        state = State.OPEN;
        sendTag = peerConnectionId;
    }

    State state() {
        return state;
    }

    boolean isOpen() {
        return state == State.OPEN;
    }

    /**
     * Whether the endpoint's close was forced. UCX 1.13 then completes a flush still under way with
     * success: it drops the errors of an endpoint that failed and was closed, although the puts and
     * gets the flush was to cover were discarded (docs/rules.md RD-exact).
     */
    boolean closedByForce() {
        return forced;
    }

    /**
     * The messages the peer can take before the end of the stream: those of sends that completed
     * with success, up to the first that did not (docs/rules.md SK-close-teardown). Final once
     * every send was called back; a send the close aborted (OV-close-aborts) is not counted, or the
     * peer would wait for a message that never comes.
     */
    long messagesDelivered() {
        return messages.count();
    }

    /**
     * Starts closing the endpoint (docs/rules.md BG-close): forced completes every request of it at once with an
     * error (UCX cannot cancel a send); flushing waits for them. Only an open endpoint, or one whose
     * close was asked for, is closed; otherwise nothing happens (a close may be asked for twice).
     *
     * <p>Inside a UCX callback the close is only asked for and made right after the current
     * progress round (docs/toolchain.md TC-23): the callback may come from the dispatch of this
     * endpoint's pending queue on a shared-memory lane, and {@code ucp_ep_close_nbx} purges that
     * queue, which UCX 1.13 answers by aborting the process. Outside a callback an asked-for close
     * is made at once (the final cleanup's waits progress the worker, not its task queue).
     */
    void close(boolean force) {
        if (state == State.OPEN && worker.inCallback()) {
            state = State.CLOSE_ASKED;
            forceAsked = force;
            worker.later(() -> close(false));
            return;
        }
        if (state == State.CLOSE_ASKED) {
            forceAsked |= force;
            if (worker.inCallback()) {
                return; // the task queued when it was asked for makes it
            }
            force = forceAsked;
        } else if (state != State.OPEN) {
            return;
        }
        state = State.CLOSING;
        forced = force;
        UcxNative.startClose(handle, force, (status, ignored) -> {
            state = State.CLOSED;
            UcxNative.forget(token); // a closed endpoint reports no failure
        });
    }

    /** {@code done}, noted as held by UCX until it has been called. */
    UcxNative.Completion tracked(UcxNative.Completion done) {
        UcxNative.Completion[] self = new UcxNative.Completion[1];
        self[0] = (status, length) -> {
            inUcx.remove(self[0]);
            done.completed(status, length);
        };
        inUcx.add(self[0]);
        return self[0];
    }

    /** A tracked completion whose request did not start after all. */
    void untrack(UcxNative.Completion done) {
        inUcx.remove(done);
    }

    /** Requests UCX holds for this connection (receives included). */
    int requestsInUcx() {
        return inUcx.size();
    }

    /** Nothing of this connection left inside UCX: every request and a started (or asked-for) close called back. */
    boolean quiet() {
        return inUcx.isEmpty() && state != State.CLOSING && state != State.CLOSE_ASKED;
    }

    /**
     * After a peer failed: requests UCX has not called back {@link #ABANDON_AFTER} after the
     * forced close are completed with a reset here. UCX 1.13 purges a force-closed endpoint's
     * requests only when its lanes have been flushed, and a shared-memory lane whose FIFO the dead
     * peer left full never flushes (the purge then waits for the worker's destruction). UCX will
     * not carry those requests out any more: their lanes are discarded and the peer is gone.
     */
    void abandonStuckRequests() {
        if (inUcx.isEmpty()) {
            return;
        }
        int n = UcxNative.abandon(new ArrayList<>(inUcx), UcxStatus.CONNECTION_RESET);
        LOG.info("{} UCX requests to a failed peer were not called back {} ms after the endpoint's forced close:"
                + " completed with a reset", n, ABANDON_AFTER.toMillis());
    }

    /**
     * Sends the buffers as tagged messages of at most {@link #MAX_MESSAGE} bytes each, in order;
     * {@code report} (tracked) is called once, when the last of them is done or the first failed.
     */
    void send(long[] addresses, long[] sizes, UcxNative.Completion report) {
        List<long[][]> split = MessageSplit.split(addresses, sizes, MAX_MESSAGE);
        if (split.size() == 1) {
            startMessage(addresses, sizes, report);
            return;
        }
        int[] open = {split.size()};
        boolean[] reported = {false};
        UcxNative.Completion part = (status, ignored) -> {
            if (reported[0]) {
                return;
            }
            if (status != 0 || --open[0] == 0) {
                reported[0] = true;
                report.completed(status, 0);
            }
        };
        for (long[][] m : split) {
            try {
                startMessage(m[0], m[1], part);
            } catch (RuntimeException e) {
                reported[0] = true; // the caller fails the send; parts already started report nothing more
                throw e;
            }
        }
    }

    /**
     * Hands one message to UCX; {@code done} (tracked) is called when UCX is done with it, after
     * {@link #messages} noted whether it reached the peer. A start that throws leaves nothing
     * tracked, and the message counts as lost.
     */
    private void startMessage(long[] addresses, long[] sizes, UcxNative.Completion done) {
        DeliveredMessages.Message m = messages.begin();
        UcxNative.Completion counted = tracked((status, length) -> {
            messages.done(m, status == 0);
            done.completed(status, length);
        });
        try {
            if (addresses.length == 1) {
                UcxNative.startTagSend(handle, addresses[0], sizes[0], sendTag, counted);
            } else {
                UcxNative.startTagSend(handle, addresses, sizes, sendTag, counted);
            }
        } catch (RuntimeException e) {
            untrack(counted);
            messages.done(m, false);
            throw e;
        }
    }

    /** RDMA write of the buffers to the peer's {@code at}; {@code report} when the data is at the peer. */
    void put(long[] addresses, long[] sizes, long at, long key, UcxNative.Completion report) {
        for (int i = 0; i < addresses.length; i++) {
            check(UcxNative.put(handle, addresses[i], sizes[i], at, key));
            at += sizes[i];
        }
        // Complete when the data is at the peer, not merely sent (the write is then visible).
        UcxNative.startFlush(handle, report);
    }

    /** RDMA read from the peer's {@code at} into the buffers; {@code report} when they are filled. */
    void get(long[] addresses, long[] sizes, long at, long key, UcxNative.Completion report) {
        for (int i = 0; i < addresses.length; i++) {
            check(UcxNative.get(handle, addresses[i], sizes[i], at, key));
            at += sizes[i];
        }
        UcxNative.startFlush(handle, report);
    }

    /**
     * Completes {@code report} (tracked) when every operation started on the endpoint so far is
     * done at the peer.
     */
    void flush(UcxNative.Completion report) {
        UcxNative.startFlush(handle, report);
    }

    /** The peer's remote key for an exposure, unpacked once per connection. */
    long remoteKey(UcxRegion.Descriptor decoded) {
        Long known = remoteKeys.get(decoded.exposure());
        if (known != null) {
            return known;
        }
        ByteBuffer packed = decoded.packedKey().duplicate();
        byte[] bytes = new byte[packed.remaining()];
        packed.get(bytes);
        long key = check(UcxNative.unpackRemoteKey(handle, bytes));
        remoteKeys.put(decoded.exposure(), key);
        return key;
    }

    /**
     * Destroys the remote keys of revoked exposures: {@code exposure} and all below {@code floor}.
     * Only when no operation started with them is in flight (UCX requests may hold their key).
     */
    void releaseRemoteKeys(long exposure, long floor) {
        remoteKeys.entrySet().removeIf(e -> {
            if (e.getKey() == exposure || e.getKey() < floor) {
                UcxNative.destroyRemoteKey(e.getValue());
                return true;
            }
            return false;
        });
    }

    void releaseRemoteKeys() {
        for (long k : remoteKeys.values()) {
            UcxNative.destroyRemoteKey(k);
        }
        remoteKeys.clear();
    }

    /** UCX's account of the endpoint (its lanes and their transports), or null when not open. */
    String describe() {
        return state != State.OPEN ? null : UcxNative.describeEndpoint(handle);
    }

    /** A UCX status or handle from the shim: negative = the call failed (the caller fails the operation). */
    private static long check(long result) {
        if (result < 0) {
            throw new IllegalStateException("UCX status " + result);
        }
        return result;
    }

    @Override
    public String toString() {
        return state + ", inUcx=" + inUcx.size() + ", delivered=" + messages;
    }
}
