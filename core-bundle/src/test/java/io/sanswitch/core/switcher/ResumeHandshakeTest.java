package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;

import io.sanswitch.core.switcher.ResumeHandshake.Acceptor;
import io.sanswitch.core.switcher.ResumeHandshake.Dialer;
import io.sanswitch.core.switcher.ResumeHandshake.Step;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Generator;
import io.sanswitch.testing.Property;

/**
 * docs/migration.md section 3: the resume handshake's two sides against each other and against
 * every malformed or forged message; whatever bytes come in, a side ends refused or closed, never
 * throws and never succeeds without the key.
 */
class ResumeHandshakeTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final Random seeded = new Random(13);
    private final SessionId id = SessionId.of(bytes(16));
    private final SessionKey key = SessionKey.of(bytes(32));
    private final Function<SessionId, SessionDirectory.Parked> parked =
            Map.of(id, new SessionDirectory.Parked(key, 7_000))::get;

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        seeded.nextBytes(b);
        return b;
    }

    /** Both sides' last steps, after running them against each other. */
    private record Run(Step dialer, Step acceptor) {
    }

    private static Run run(Dialer d, Acceptor a) {
        Step hello = d.start();
        assertEquals(ResumeHandshake.HELLO_BYTES, hello.send().length);
        assertEquals(ResumeHandshake.HELLO_BYTES, Acceptor.first());
        Step challenge = a.received(hello.send());
        if (challenge.failed()) {
            return new Run(d.received(challenge.send()), challenge);
        }
        assertEquals(ResumeHandshake.CHALLENGE_BYTES, challenge.send().length);
        Step proof = d.received(challenge.send());
        if (proof.failed()) {
            return new Run(proof, challenge);
        }
        assertEquals(ResumeHandshake.PROOF_BYTES, proof.send().length);
        Step answer = a.received(proof.send());
        return new Run(d.received(answer.send()), answer);
    }

    @Test
    @Checks("SW-migrate-proof")
    void withTheKeyBothSidesLearnWhatTheOtherReceived() {
        Run r = run(new Dialer(id, key, 5_000, RANDOM), new Acceptor(parked, RANDOM));
        assertTrue(r.acceptor().succeeded(), String.valueOf(r.acceptor()));
        assertEquals(5_000, r.acceptor().peerReceived());
        assertEquals(ResumeHandshake.ACCEPT_BYTES, r.acceptor().send().length);
        assertTrue(r.dialer().succeeded(), String.valueOf(r.dialer()));
        assertEquals(7_000, r.dialer().peerReceived());
        assertNull(r.dialer().send());
    }

    /**
     * docs/rules.md SW-migrate-back: a dialer begun ahead of a move back pauses at the challenge and
     * proves with its count later; the acceptor answers with its count as it is at the proof (the
     * session ran when the hello came, and parked before the proof: the connector's MOVE parked it).
     */
    @Test
    @Checks({"SW-migrate-back", "SW-migrate-proof"})
    void aDialerAheadProvesLaterAndTheAcceptorAnswersWithTheCountAtTheProof() {
        java.util.concurrent.atomic.AtomicReference<SessionDirectory.Parked> now = new java.util.concurrent.atomic.AtomicReference<>(
                new SessionDirectory.Parked(key, 0, () -> fail("a proven dial for a session still running here")));
        Acceptor a = new Acceptor(x -> x.equals(id) ? now.get() : null, RANDOM);
        Dialer d = Dialer.ahead(id, key, RANDOM);
        Step challenge = a.received(d.start().send());
        Step paused = d.received(challenge.send());
        assertTrue(paused.paused(), String.valueOf(paused));
        assertFalse(paused.succeeded());
        assertFalse(paused.failed());
        assertNull(paused.send());
        now.set(new SessionDirectory.Parked(key, 9_000)); // the MOVE parked it
        Step proof = d.prove(4_000);
        assertEquals(ResumeHandshake.PROOF_BYTES, proof.send().length);
        Step answer = a.received(proof.send());
        assertTrue(answer.succeeded(), String.valueOf(answer));
        assertEquals(4_000, answer.peerReceived());
        Step done = d.received(answer.send());
        assertTrue(done.succeeded(), String.valueOf(done));
        assertEquals(9_000, done.peerReceived());
    }

    @Test
    void aDialerAheadProvesOnlyOnceAtItsPauseAndNeverANegativeCount() {
        Dialer early = Dialer.ahead(id, key, RANDOM);
        early.start();
        assertTrue(early.prove(5).failed(), "a proof before the challenge");
        Dialer negative = Dialer.ahead(id, key, RANDOM);
        Acceptor a = new Acceptor(parked, RANDOM);
        negative.received(a.received(negative.start().send()).send());
        assertTrue(negative.prove(-1).failed());
        Dialer twice = Dialer.ahead(id, key, RANDOM);
        twice.received(new Acceptor(parked, RANDOM).received(twice.start().send()).send());
        assertFalse(twice.prove(5).failed());
        assertTrue(twice.prove(5).failed(), "a second proof");
        // A dialer that states its count at once never pauses.
        Dialer plain = new Dialer(id, key, 5, RANDOM);
        Step next = plain.received(new Acceptor(parked, RANDOM).received(plain.start().send()).send());
        assertFalse(next.paused());
        assertEquals(ResumeHandshake.PROOF_BYTES, next.send().length);
    }

    @Test
    void zeroAndTheLargestCountsPass() {
        Function<SessionId, SessionDirectory.Parked> max = x -> new SessionDirectory.Parked(key, Long.MAX_VALUE);
        Run r = run(new Dialer(id, key, 0, RANDOM), new Acceptor(max, RANDOM));
        assertEquals(0, r.acceptor().peerReceived());
        assertEquals(Long.MAX_VALUE, r.dialer().peerReceived());
    }

    @Test
    @Checks("SW-migrate-proof")
    void anotherKeyIsRefusedAndTheDialerLearnsItWasRefused() {
        Run r = run(new Dialer(id, SessionKey.of(bytes(32)), 5, RANDOM), new Acceptor(parked, RANDOM));
        assertTrue(r.acceptor().failed());
        assertTrue(r.acceptor().failure().contains("proof"), r.acceptor().failure());
        assertArrayEquals(ResumeHandshake.refusal(), r.acceptor().send());
        assertTrue(r.dialer().failed());
        assertEquals("refused", r.dialer().failure());
    }

    @Test
    @Checks("SW-migrate-proof")
    void anUnknownIdLooksToThePeerExactlyLikeABadProof() {
        SessionId unknown = SessionId.of(bytes(16));
        Dialer d = new Dialer(unknown, key, 5, RANDOM);
        Acceptor a = new Acceptor(parked, RANDOM);
        Step challenge = a.received(d.start().send());
        // A challenge as for a known id: same length, same magic.
        assertFalse(challenge.failed(), "no early refusal that would tell the id is unknown");
        assertEquals(ResumeHandshake.CHALLENGE_BYTES, challenge.send().length);
        assertArrayEquals(ResumeHandshake.MAGIC, Arrays.copyOf(challenge.send(), 8));
        assertEquals(ResumeHandshake.PROOF_BYTES, challenge.expect());
        Step answer = a.received(d.received(challenge.send()).send());
        assertTrue(answer.failed());
        assertArrayEquals(ResumeHandshake.refusal(), answer.send(), "the same refusal as for a bad proof");
        assertEquals("refused", d.received(answer.send()).failure());
        assertTrue(answer.failure().contains("no session"), answer.failure());
    }

    @Test
    void aWrongMagicOrLengthInTheHelloIsRefused() {
        byte[] hello = new Dialer(id, key, 5, RANDOM).start().send();
        byte[] badMagic = hello.clone();
        badMagic[3] ^= 1;
        assertRefused(new Acceptor(parked, RANDOM).received(badMagic), "magic");
        assertRefused(new Acceptor(parked, RANDOM).received(Arrays.copyOf(hello, 55)), "55 bytes");
        assertRefused(new Acceptor(parked, RANDOM).received(Arrays.copyOf(hello, 57)), "57 bytes");
        assertRefused(new Acceptor(parked, RANDOM).received(new byte[0]), "0 bytes");
        assertRefused(new Acceptor(parked, RANDOM).received(null), "no bytes");
        assertRefused(new Acceptor(parked, RANDOM).received("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
                "18 bytes");
    }

    @Test
    void aProofOfWrongLengthOrTamperedIsRefused() {
        for (int change : new int[] {0, 31, 32, 39}) {
            Dialer d = new Dialer(id, key, 5, RANDOM);
            Acceptor a = new Acceptor(parked, RANDOM);
            byte[] proof = d.received(a.received(d.start().send()).send()).send();
            proof[change] ^= 0x40;
            assertRefused(a.received(proof), "proof");
        }
        Dialer d = new Dialer(id, key, 5, RANDOM);
        Acceptor a = new Acceptor(parked, RANDOM);
        byte[] proof = d.received(a.received(d.start().send()).send()).send();
        assertRefused(a.received(Arrays.copyOf(proof, 39)), "39 bytes");
    }

    @Test
    void aRecordedProofIsWorthNothingInAnotherHandshake() {
        Dialer d = new Dialer(id, key, 5, RANDOM);
        Acceptor first = new Acceptor(parked, RANDOM);
        byte[] hello = d.start().send();
        byte[] proof = d.received(first.received(hello).send()).send();
        assertTrue(first.received(proof).succeeded());
        Acceptor replayed = new Acceptor(parked, RANDOM);
        replayed.received(hello);
        assertRefused(replayed.received(proof), "proof");
    }

    @Test
    void aNegativeReceivedIsRefusedEvenUnderAValidMac() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> new Dialer(id, key, -1, RANDOM));
        Dialer d = new Dialer(id, key, 5, RANDOM);
        Acceptor a = new Acceptor(parked, RANDOM);
        byte[] hello = d.start().send();
        byte[] challenge = a.received(hello).send();
        byte[] nonceD = Arrays.copyOfRange(hello, 24, 56);
        byte[] nonceA = Arrays.copyOfRange(challenge, 8, 40);
        byte[] forged = ByteBuffer.allocate(40).put(hmac(key, "dial", id, nonceD, nonceA, -5)).putLong(-5).array();
        assertRefused(a.received(forged), "negative");
    }

    @Test
    void theDialerFailsOnABadChallengeOrAcceptAndNamesTheReason() throws Exception {
        Dialer d = new Dialer(id, key, 5, RANDOM);
        d.start();
        assertDialerFails(d.received(bytes(40)), "magic");
        d = new Dialer(id, key, 5, RANDOM);
        d.start();
        assertDialerFails(d.received(new byte[41]), "41 bytes");
        d = new Dialer(id, key, 5, RANDOM);
        d.start();
        assertDialerFails(d.received(ResumeHandshake.refusal()), "refused");

        // An accept from someone without the key.
        d = new Dialer(id, key, 5, RANDOM);
        Acceptor a = new Acceptor(parked, RANDOM);
        byte[] hello = d.start().send();
        byte[] challenge = a.received(hello).send();
        d.received(challenge);
        byte[] fake = ByteBuffer.allocate(40).put(bytes(32)).putLong(7_000).array();
        assertDialerFails(d.received(fake), "bad proof");

        // A valid mac over a negative count (a broken peer with the key).
        d = new Dialer(id, key, 5, RANDOM);
        a = new Acceptor(parked, RANDOM);
        hello = d.start().send();
        challenge = a.received(hello).send();
        d.received(challenge);
        byte[] forged = ByteBuffer.allocate(40).put(hmac(key, "accept", id, Arrays.copyOfRange(hello, 24, 56),
                Arrays.copyOfRange(challenge, 8, 40), -2)).putLong(-2).array();
        assertDialerFails(d.received(forged), "negative");
        assertDialerFails(d.received(forged), "out of turn");
    }

    @Test
    void aDirectoryThatFailsEndsInARefusal() {
        Acceptor a = new Acceptor(x -> {
            throw new IllegalStateException("directory broken");
        }, RANDOM);
        // The directory is asked at the proof (a dialer ahead of a move back proves once the session parked).
        Dialer d = new Dialer(id, key, 5, RANDOM);
        Step challenge = a.received(d.start().send());
        assertFalse(challenge.failed(), String.valueOf(challenge));
        assertRefused(a.received(d.received(challenge.send()).send()), "directory broken");
        assertRefused(a.received(new byte[40]), "after the handshake ended");
    }

    /**
     * Property: arbitrary bytes (sometimes behind the right magic and a parked id) end the acceptor in a
     * refusal and the dialer in a failure, never in an exception or a success. {@code -Dfuzz.seed=S}
     * repeats a failing run.
     */
    @Test
    @Checks("SW-migrate-proof")
    void arbitraryBytesEndInARefusalNeverAnExceptionOrASuccess() {
        Generator<byte[]> any = Generator.oneOf(Generator.bytes(0, 120), Generator.bytes(56, 56), Generator.bytes(40, 40));
        Generator<byte[][]> acceptorInputs = r -> {
            byte[] hello = any.next(r);
            if (hello.length == 56 && r.nextBoolean()) {
                System.arraycopy(ResumeHandshake.MAGIC, 0, hello, 0, 8);
                if (r.nextBoolean()) {
                    System.arraycopy(id.bytes(), 0, hello, 8, 16);
                }
            }
            return new byte[][] {hello, any.next(r)};
        };
        Property.forAll("arbitrary bytes end the acceptor refused", 3000, acceptorInputs, in -> {
            Acceptor a = new Acceptor(parked, RANDOM);
            Step s = a.received(in[0]);
            if (!s.failed()) {
                s = a.received(in[1]);
            }
            assertTrue(s.failed(), "refused: " + s);
            assertArrayEquals(ResumeHandshake.refusal(), s.send());
            assertNotNull(s.failure());
        });
        Generator<byte[][]> dialerInputs = r -> {
            byte[] challenge = any.next(r);
            if (challenge.length == 40 && r.nextBoolean()) {
                System.arraycopy(ResumeHandshake.MAGIC, 0, challenge, 0, 8);
            }
            return new byte[][] {challenge, any.next(r)};
        };
        Property.forAll("arbitrary bytes end the dialer failed", 3000, dialerInputs, in -> {
            Dialer d = new Dialer(id, key, 5, RANDOM);
            d.start();
            Step s = d.received(in[0]);
            if (!s.failed()) {
                s = d.received(in[1]);
            }
            assertTrue(s.failed(), "failed: " + s);
            assertNull(s.send(), "the dialer sends nothing when it fails");
        });
    }

    private static void assertRefused(Step s, String reasonPart) {
        assertTrue(s.failed(), "refused: " + s);
        assertTrue(s.failure().contains(reasonPart), s.failure() + " names " + reasonPart);
        assertArrayEquals(ResumeHandshake.refusal(), s.send());
        assertEquals(0, s.expect());
    }

    private static void assertDialerFails(Step s, String reasonPart) {
        assertTrue(s.failed(), "failed: " + s);
        assertTrue(s.failure().contains(reasonPart), s.failure() + " names " + reasonPart);
        assertNull(s.send());
    }

    /** The handshake's mac computed here with javax.crypto, independently of the code under test. */
    private static byte[] hmac(SessionKey key, String label, SessionId id, byte[] nonceD, byte[] nonceA, long received)
            throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key.bytes(), "HmacSHA256"));
        mac.update(label.getBytes(StandardCharsets.US_ASCII));
        mac.update(id.bytes());
        mac.update(nonceD);
        mac.update(nonceA);
        mac.update(ByteBuffer.allocate(8).putLong(received).array());
        return mac.doFinal();
    }

    /**
     * docs/rules.md SW-migrate-proof: a session still running here (its peer moved it, this side has
     * not noticed) is made to park by a proven dial only; the dial is refused, the next finds it parked.
     */
    @Test
    @Checks("SW-migrate-proof")
    void aProvenDialForASessionStillRunningHereMakesItParkAndIsRefused() {
        int[] nudged = {0};
        Function<SessionId, SessionDirectory.Parked> live =
                x -> x.equals(id) ? new SessionDirectory.Parked(key, 0, () -> nudged[0]++) : null;
        Run proven = run(new Dialer(id, key, 5_000, RANDOM), new Acceptor(live, RANDOM));
        assertTrue(proven.acceptor().failed(), String.valueOf(proven.acceptor()));
        assertTrue(proven.dialer().failed(), String.valueOf(proven.dialer()));
        assertEquals(1, nudged[0], "the proven dial made the session park");

        Run forged = run(new Dialer(id, SessionKey.of(bytes(32)), 5_000, RANDOM), new Acceptor(live, RANDOM));
        assertTrue(forged.acceptor().failed(), String.valueOf(forged.acceptor()));
        assertEquals(1, nudged[0], "a dial without the key moves nothing");
    }
}
