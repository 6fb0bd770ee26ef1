package io.sanswitch.rdma;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;

import org.openucx.jucx.UcxUtils;
import org.openucx.jucx.ucp.UcpTagMessage;

import io.sanswitch.transport.PostedOperation;

/**
 * The receiving half of a connection's tag stream: posted receives take the tagged messages with
 * this side's tag in order. A message that fits the next receive goes straight into its buffer
 * (zero copy), several at once, completed in posting order; a larger one lands in a staging buffer
 * that the following receives drain, so the stream keeps TCP's semantics (a receive completes with
 * what arrived). After the peer's orderly close the stream ends behind the last message it
 * announced (receives then complete with 0 bytes). Worker thread only, every method and field.
 */
final class TagStreamReceiver {
    private static final long FULL_MASK = -1L;

    private final UcxTransport owner;
    private final UcxSocket socket;
    /** The tag the peer sends this connection's data with (this side's connection id). */
    private final long recvTag;
    /** Where receives are tracked as requests UCX holds, for teardown. */
    private final UcxEndpoint endpoint;
    /** Receives posted and not yet taken by a message, in posting order. */
    private final ArrayDeque<PostedOperation> receives = new ArrayDeque<>();
    /** A message larger than the receive that took it: bytes not yet delivered, else null. */
    private ByteBuffer staged;
    /** Reused for staged messages, grown to the largest. */
    private ByteBuffer stagingBuffer;
    /**
     * Messages being received straight into posted receives' own buffers, in posting order: several
     * at once, so one rendezvous handshake overlaps the previous transfer. Completed in order.
     */
    private final ArrayDeque<Matched> matched = new ArrayDeque<>();
    /** A message is being received into the staging buffer (then nothing else is taken). */
    private boolean stagingInFlight;
    /** Its pending request, for cancelling; 0 when there is none. */
    private long stagingRequest;
    /** The number of the message being received into the staging buffer (the first taken is 1). */
    private long stagingMessage;
    /** The peer's last announced message was taken: receives complete with 0 bytes. */
    private boolean endOfStream;
    /** Tagged messages taken on this connection: the orderly end comes after the peer's count. */
    private long messagesTaken;
    /** How many messages the peer sent before it closed in order, or -1 while it has not. */
    private long peerSentMessages = -1;
    /** The endpoint's close was asked for to end the receives of messages past the peer's end. */
    private boolean endedPastTheEnd;

    TagStreamReceiver(UcxTransport owner, UcxSocket socket, long recvTag, UcxEndpoint endpoint) {
        this.owner = owner;
        this.socket = socket;
        this.recvTag = recvTag;
        this.endpoint = endpoint;
    }

    /** A receive posted by the application, after the earlier ones. */
    void post(PostedOperation op) {
        receives.add(op);
        owner.wantsData(socket);
        pump();
    }

    /** Drops {@code op} if no message has taken it yet. */
    boolean remove(PostedOperation op) {
        return receives.remove(op);
    }

    /** The peer closed in order after {@code messages} messages: the stream ends behind the last. */
    void peerClosed(long messages) {
        peerSentMessages = messages;
    }

    /**
     * Whether message {@code number} (the first taken is 1) comes after the end the peer announced:
     * a message of a send its close aborted (docs/rules.md SK-close-teardown, OV-close-aborts),
     * taken before its closing notice was read. It never arrives in full; it is not part of the
     * stream.
     */
    private boolean pastTheEnd(long number) {
        return peerSentMessages >= 0 && number > peerSentMessages;
    }

    /**
     * Whether UCX holds receives of this stream and all of them are of messages past the peer's
     * end: the peer aborted those sends, so only this side's endpoint's close ends the receives.
     */
    boolean waitsOnlyPastTheEnd() {
        if (peerSentMessages < 0) {
            return false;
        }
        boolean any = false;
        for (Matched m : matched) {
            if (!m.done) {
                if (!pastTheEnd(m.number)) {
                    return false;
                }
                any = true;
            }
        }
        if (stagingInFlight) {
            if (!pastTheEnd(stagingMessage)) {
                return false;
            }
            any = true;
        }
        return any;
    }

    /**
     * After progress and whenever a receive is posted: hands what has arrived to the posted
     * receives in order.
     *
     * @return whether any receive moved
     */
    boolean pump() {
        if (!endedPastTheEnd && waitsOnlyPastTheEnd()) {
            // Messages of sends the peer's close aborted, taken before its notice: their receives
            // end only with the endpoint's failure or close (docs/toolchain.md TC-25), so it is
            // force-closed (a peer that closed takes nothing more); they complete as the end.
            endedPastTheEnd = true;
            socket.endReceivesPastTheEnd();
        }
        boolean moved = false;
        while (!receives.isEmpty() && !stagingInFlight && !socket.isEnded()) {
            PostedOperation op = receives.peekFirst();
            if (staged != null) {
                if (!matched.isEmpty()) {
                    break; // the staged message came after those: they complete first
                }
                long n = drainStaged(op);
                receives.pollFirst();
                moved = true;
                owner.events().operationCompleted(op, n);
                continue;
            }
            if (!endOfStream && peerSentMessages >= 0 && messagesTaken >= peerSentMessages) {
                endOfStream = true;
            }
            if (endOfStream || socket.hasFailed()) {
                if (!matched.isEmpty()) {
                    break; // messages taken before the end (or the failure) complete first
                }
                // The end is checked before a failure: the peer closed in order, and its endpoint
                // going away afterwards is not a reset of a stream that already ended.
                receives.pollFirst();
                moved = true;
                if (endOfStream) {
                    owner.events().operationCompleted(op, 0); // 0 bytes = the peer closed gracefully
                } else {
                    owner.events().operationFailed(op, socket.failure(), 0);
                }
                continue;
            }
            UcpTagMessage message = owner.worker().tagProbeNonBlocking(recvTag, FULL_MASK, true);
            if (message == null) {
                break;
            }
            moved = true;
            long number = ++messagesTaken;
            long length = message.getRecvLength();
            if (op.buffers().length == 1 && length <= op.buffers()[0].remaining()) {
                receives.pollFirst();
                receiveDirect(op, message, length, number);
            } else if (length > UcxEndpoint.MAX_MESSAGE) {
                socket.protocolViolation("a message of " + length + " bytes, at most " + UcxEndpoint.MAX_MESSAGE
                        + " are sent");
                moved = true;
            } else {
                receiveStaged(message, length, number);
            }
        }
        if (receives.isEmpty() || socket.isEnded()) {
            owner.doneWithData(socket);
        }
        return moved;
    }

    /** A message being received into the buffer of the receive it belongs to. */
    private static final class Matched {
        final PostedOperation op;
        final long length;
        /** Which message of the stream (the first taken is 1). */
        final long number;
        long request;
        boolean done;
        int status;

        Matched(PostedOperation op, long length, long number) {
            this.op = op;
            this.length = length;
            this.number = number;
        }
    }

    /** Takes a probed message into {@code op}'s own buffer (zero copy). */
    private void receiveDirect(PostedOperation op, UcpTagMessage message, long length, long number) {
        ByteBuffer target = op.buffers()[0];
        Matched m = new Matched(op, length, number);
        matched.add(m);
        long request = UcxNative.startTagReceive(owner.workerHandle(), UcxUtils.getAddress(target) + target.position(), length,
                message.getNativeId(), endpoint.tracked((status, ignored) -> {
                    m.done = true;
                    m.status = status;
                    m.request = 0;
                    if (status != 0 && !pastTheEnd(number)) {
                        socket.receiveFailed();
                    }
                    completeMatched();
                    owner.wantsData(socket);
                }));
        // A message already here completes inside the call (the completion ran before it returned).
        if (!m.done && request > 0) {
            m.request = request;
        }
    }

    /** Completes the received messages at the head of {@link #matched}, in posting order. */
    private void completeMatched() {
        while (!matched.isEmpty() && matched.peekFirst().done) {
            Matched m = matched.pollFirst();
            if (socket.isEnded()) {
                continue; // the engine completes what a closed socket had posted
            }
            if (pastTheEnd(m.number)) {
                owner.events().operationCompleted(m.op, 0); // not part of the stream: its end
            } else if (m.status == 0) {
                owner.events().operationCompleted(m.op, m.length);
            } else {
                owner.events().operationFailed(m.op, socket.failure(), 0);
            }
        }
    }

    /** Takes a probed message that does not fit the next receive into the staging buffer. */
    private void receiveStaged(UcpTagMessage message, long length, long number) {
        if (stagingBuffer == null || stagingBuffer.capacity() < length) {
            stagingBuffer = ByteBuffer.allocateDirect((int) Math.max(length, 64 * 1024));
        }
        ByteBuffer target = stagingBuffer.clear().limit((int) length);
        stagingInFlight = true;
        stagingMessage = number;
        long request = UcxNative.startTagReceive(owner.workerHandle(), UcxUtils.getAddress(target), length,
                message.getNativeId(), endpoint.tracked((status, ignored) -> {
                    stagingInFlight = false;
                    stagingRequest = 0;
                    if (socket.isEnded()) {
                        return;
                    }
                    if (pastTheEnd(number)) {
                        owner.wantsData(socket); // not part of the stream: the receives see its end
                        return;
                    }
                    if (status != 0) {
                        socket.receiveFailed();
                    } else {
                        staged = stagingBuffer.duplicate().position(0).limit((int) length);
                    }
                    owner.wantsData(socket);
                }));
        if (stagingInFlight && request > 0) {
            stagingRequest = request;
        }
    }

    /** Message receives UCX holds for this socket. */
    int receivesInUcx() {
        int n = stagingInFlight ? 1 : 0;
        for (Matched m : matched) {
            n += m.done ? 0 : 1;
        }
        return n;
    }

    /** Cancels the message receives UCX holds: each completes with UCS_ERR_CANCELED (if not matched yet). */
    void cancel() {
        for (Matched m : new ArrayList<>(matched)) {
            if (m.request != 0) {
                UcxNative.cancel(owner.workerHandle(), m.request);
            }
        }
        if (stagingRequest != 0) {
            UcxNative.cancel(owner.workerHandle(), stagingRequest);
        }
    }

    /** Copies staged bytes into {@code op}'s buffers, as far as they go. */
    private long drainStaged(PostedOperation op) {
        long moved = 0;
        for (ByteBuffer b : op.buffers()) {
            int n = Math.min(b.remaining(), staged.remaining());
            if (n == 0) {
                continue;
            }
            ByteBuffer slice = staged.duplicate().limit(staged.position() + n);
            b.duplicate().put(slice);
            staged.position(staged.position() + n);
            moved += n;
        }
        if (!staged.hasRemaining()) {
            staged = null;
        }
        return moved;
    }

    /** The socket ended: what was posted is the engine's to complete; the buffers go. */
    void clear() {
        receives.clear();
        matched.clear();
        staged = null;
        stagingBuffer = null;
    }

    @Override
    public String toString() {
        return "receives=" + receives.size() + ", matched=" + matched.size() + ", stagingInFlight=" + stagingInFlight
                + ", staged=" + (staged == null ? 0 : staged.remaining()) + ", taken=" + messagesTaken + ", peerSent="
                + peerSentMessages;
    }
}
