package io.sanswitch.core.switcher;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.function.Function;

/**
 * The resume handshake of docs/migration.md section 3, both sides, as pure state machines over whole
 * messages of fixed length (the caller reads exactly {@link Step#expect} bytes and hands them in):
 *
 * <pre>
 * dialer   -> RESUME_HELLO      magic "SNSWRSM1" | id:16 | nonceD:32
 * acceptor -> RESUME_CHALLENGE  magic "SNSWRSM1" | nonceA:32
 * dialer   -> RESUME_PROOF      mac:32 | received:8   mac = HMAC(key, "dial" | id | nonceD | nonceA | received)
 * acceptor -> RESUME_ACCEPT     mac:32 | received:8   mac = HMAC(key, "accept" | id | nonceD | nonceA | received)
 *          or RESUME_REFUSE     40 bytes 0xFF, then close
 * </pre>
 *
 * Fails closed (docs/security.md SEC-2, SEC-11): a wrong length, a wrong magic, a wrong mac or a negative
 * {@code received} ends in a failed {@link Step} with a reason; nothing is allocated by a length from the
 * peer and nothing throws. The acceptor answers an unknown id with a challenge as for a known one and
 * refuses its proof as a bad one (checked against a key nobody knows), so a peer without the key cannot
 * learn whether an id exists (docs/rules.md SW-migrate-proof).
 */
final class ResumeHandshake {
    static final byte[] MAGIC = "SNSWRSM1".getBytes(StandardCharsets.US_ASCII);
    static final int NONCE_BYTES = 32;
    static final int MAC_BYTES = 32;
    static final int HELLO_BYTES = MAGIC.length + SessionId.BYTES + NONCE_BYTES;
    static final int CHALLENGE_BYTES = MAGIC.length + NONCE_BYTES;
    static final int PROOF_BYTES = MAC_BYTES + Long.BYTES;
    static final int ACCEPT_BYTES = PROOF_BYTES;
    static final int REFUSE_BYTES = 40;
    /** All the acceptor ever reads of a handshake (docs/security.md SEC-11). */
    static final int ACCEPTOR_READS = HELLO_BYTES + PROOF_BYTES;
    private static final byte[] DIAL = "dial".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ACCEPT = "accept".getBytes(StandardCharsets.US_ASCII);

    private ResumeHandshake() {
    }

    /**
     * What a side does next: send {@code send} (if not {@code null}), then either read exactly
     * {@code expect} bytes, or stop: succeeded with the peer's {@code peerReceived}, failed with
     * {@code failure} (then close), or {@code paused}: a dialer that has the challenge and states its
     * count later ({@link Dialer#prove}).
     */
    record Step(byte[] send, int expect, long peerReceived, String failure, boolean paused) {
        static Step next(byte[] send, int expect) {
            return new Step(send, expect, -1, null, false);
        }

        static Step succeeded(byte[] send, long peerReceived) {
            return new Step(send, 0, peerReceived, null, false);
        }

        static Step failed(byte[] send, String reason) {
            return new Step(send, 0, -1, reason, false);
        }

        static Step pausedForCount() {
            return new Step(null, 0, -1, null, true);
        }

        boolean failed() {
            return failure != null;
        }

        boolean succeeded() {
            return failure == null && expect == 0 && !paused;
        }
    }

    /** RESUME_REFUSE: 40 bytes 0xFF; never a valid accept, whose {@code received} would be negative. */
    static byte[] refusal() {
        byte[] r = new byte[REFUSE_BYTES];
        Arrays.fill(r, (byte) 0xFF);
        return r;
    }

    static boolean isRefusal(byte[] m) {
        if (m.length != REFUSE_BYTES) {
            return false;
        }
        int and = 0xFF;
        for (byte b : m) {
            and &= b;
        }
        return and == 0xFF;
    }

    private static byte[] nonce(SecureRandom random) {
        byte[] n = new byte[NONCE_BYTES];
        random.nextBytes(n);
        return n;
    }

    private static boolean hasMagic(byte[] m) {
        return MessageDigest.isEqual(Arrays.copyOf(m, MAGIC.length), MAGIC);
    }

    private static byte[] proofMessage(byte[] mac, long received) {
        return ByteBuffer.allocate(PROOF_BYTES).put(mac).putLong(received).array();
    }

    private static byte[] mac(SessionKey key, byte[] label, SessionId id, byte[] nonceD, byte[] nonceA, long received) {
        return key.mac(label, id.bytes(), nonceD, nonceA, ByteBuffer.allocate(Long.BYTES).putLong(received).array());
    }

    private static String lengthWrong(String what, byte[] m, int expected) {
        return what + " of " + (m == null ? "no" : m.length) + " bytes, not " + expected;
    }

    /** The side of the resume port. */
    static final class Acceptor {
        private enum State { HELLO, PROOF, OVER }

        private final Function<SessionId, SessionDirectory.Parked> directory;
        private final SecureRandom random;
        private State state = State.HELLO;
        private SessionId id;
        private SessionDirectory.Parked parked;
        private byte[] nonceD;
        private byte[] nonceA;

        Acceptor(Function<SessionId, SessionDirectory.Parked> directory, SecureRandom random) {
            this.directory = directory;
            this.random = random;
        }

        /** The bytes to read first. */
        static int first() {
            return HELLO_BYTES;
        }

        /** The id the dialer named, once its hello was read ({@code null} before). */
        SessionId id() {
            return id;
        }

        /** The next message of the dialer, exactly as long as the last step expected. */
        Step received(byte[] m) {
            try {
                return switch (state) {
                    case HELLO -> hello(m);
                    case PROOF -> proof(m);
                    case OVER -> refuse("a message after the handshake ended");
                };
            } catch (RuntimeException e) {
                // A directory that failed: the dialer sees an ordinary refusal.
                return refuse("the handshake failed: " + e);
            }
        }

        private Step hello(byte[] m) {
            if (m == null || m.length != HELLO_BYTES) {
                return refuse(lengthWrong("a hello", m, HELLO_BYTES));
            }
            if (!hasMagic(m)) {
                return refuse("a hello with a wrong magic");
            }
            id = SessionId.of(Arrays.copyOfRange(m, MAGIC.length, MAGIC.length + SessionId.BYTES));
            nonceD = Arrays.copyOfRange(m, MAGIC.length + SessionId.BYTES, HELLO_BYTES);
            nonceA = nonce(random);
            state = State.PROOF;
            return Step.next(ByteBuffer.allocate(CHALLENGE_BYTES).put(MAGIC).put(nonceA).array(), PROOF_BYTES);
        }

        private Step proof(byte[] m) {
            if (m == null || m.length != PROOF_BYTES) {
                return refuse(lengthWrong("a proof", m, PROOF_BYTES));
            }
            // Looked up at the proof, not at the hello: a dialer that began ahead of a move back proves
            // once the session parked here (docs/rules.md SW-migrate-back).
            parked = directory.apply(id);
            ByteBuffer b = ByteBuffer.wrap(m);
            byte[] mac = new byte[MAC_BYTES];
            b.get(mac);
            long received = b.getLong();
            // An unknown id is checked against a key nobody knows: the same work and the same refusal.
            SessionKey key = parked != null ? parked.key() : SessionKey.random(random);
            boolean proven = MessageDigest.isEqual(mac, mac(key, DIAL, id, nonceD, nonceA, received));
            if (parked == null) {
                return refuse("no session " + id + " is parked here");
            }
            if (!proven) {
                return refuse("the proof for session " + id + " is wrong");
            }
            if (received < 0) {
                return refuse("the proof for session " + id + " states a negative received count " + received);
            }
            if (parked.live() != null) {
                // Proven: the peer has moved, this side has not noticed yet. It parks now; the dialer's
                // next try finds it parked (docs/rules.md SW-migrate-proof).
                parked.live().run();
                return refuse("session " + id + " was still running here; it parks for the next dial");
            }
            state = State.OVER;
            byte[] answer = proofMessage(mac(parked.key(), ACCEPT, id, nonceD, nonceA, parked.received()), parked.received());
            return Step.succeeded(answer, received);
        }

        private Step refuse(String reason) {
            state = State.OVER;
            return Step.failed(refusal(), reason);
        }
    }

    /** The side that dials the peer's resume port. */
    static final class Dialer {
        private enum State { START, CHALLENGE, READY, ACCEPT, OVER }

        private final SessionId id;
        private final SessionKey key;
        /** This side's count, or -1 until {@link #prove} states it. */
        private long received;
        private final byte[] nonceD;
        private byte[] nonceA;
        private State state = State.START;

        /**
         * @throws IllegalArgumentException a negative {@code received}
         */
        Dialer(SessionId id, SessionKey key, long received, SecureRandom random) {
            if (received < 0) {
                throw new IllegalArgumentException("received must not be negative: " + received);
            }
            this.id = id;
            this.key = key;
            this.received = received;
            this.nonceD = nonce(random);
        }

        /**
         * docs/rules.md SW-migrate-back: a dialer that exchanges hello and challenge ahead, while the
         * session still runs elsewhere, and proves with its count ({@link #prove}) once it has it: the
         * move back then waits for one round trip of the handshake, not two.
         */
        static Dialer ahead(SessionId id, SessionKey key, SecureRandom random) {
            Dialer d = new Dialer(id, key, 0, random);
            d.received = -1;
            return d;
        }

        /** After the pause at the challenge: the proof with {@code count}, then read the accept. */
        Step prove(long count) {
            if (state != State.READY) {
                return fail("a proof out of turn");
            }
            if (count < 0) {
                return fail("a negative received count " + count);
            }
            received = count;
            state = State.ACCEPT;
            return Step.next(proofMessage(mac(key, DIAL, id, nonceD, nonceA, received), received), ACCEPT_BYTES);
        }

        /** The hello, then read the challenge. */
        Step start() {
            if (state != State.START) {
                return fail("started twice");
            }
            state = State.CHALLENGE;
            return Step.next(ByteBuffer.allocate(HELLO_BYTES).put(MAGIC).put(id.bytes()).put(nonceD).array(),
                    CHALLENGE_BYTES);
        }

        /** The next message of the acceptor, exactly as long as the last step expected. */
        Step received(byte[] m) {
            return switch (state) {
                case START, READY, OVER -> fail("a message out of turn");
                case CHALLENGE -> challenge(m);
                case ACCEPT -> accept(m);
            };
        }

        private Step challenge(byte[] m) {
            if (m == null || m.length != CHALLENGE_BYTES) {
                return fail(lengthWrong("a challenge", m, CHALLENGE_BYTES));
            }
            if (isRefusal(m)) {
                return fail("refused");
            }
            if (!hasMagic(m)) {
                return fail("a challenge with a wrong magic");
            }
            nonceA = Arrays.copyOfRange(m, MAGIC.length, CHALLENGE_BYTES);
            if (received < 0) {
                state = State.READY;
                return Step.pausedForCount();
            }
            state = State.ACCEPT;
            return Step.next(proofMessage(mac(key, DIAL, id, nonceD, nonceA, received), received), ACCEPT_BYTES);
        }

        private Step accept(byte[] m) {
            if (m == null || m.length != ACCEPT_BYTES) {
                return fail(lengthWrong("an accept", m, ACCEPT_BYTES));
            }
            if (isRefusal(m)) {
                return fail("refused");
            }
            ByteBuffer b = ByteBuffer.wrap(m);
            byte[] mac = new byte[MAC_BYTES];
            b.get(mac);
            long peerReceived = b.getLong();
            if (!MessageDigest.isEqual(mac, mac(key, ACCEPT, id, nonceD, nonceA, peerReceived))) {
                return fail("bad proof: the acceptor's proof for session " + id + " is wrong");
            }
            if (peerReceived < 0) {
                return fail("the acceptor states a negative received count " + peerReceived);
            }
            state = State.OVER;
            return Step.succeeded(null, peerReceived);
        }

        private Step fail(String reason) {
            state = State.OVER;
            return Step.failed(null, reason);
        }
    }
}
