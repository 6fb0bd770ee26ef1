package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rendezvous handshake's codec and key (docs/security.md, SEC-1, SEC-2): only a peer with the
 * key gets a hello or an answer through, a recorded message is worth nothing under another nonce,
 * and every malformed or oversized message is refused or waits for more, never anything else.
 */
class HandshakeTest {
    private static final RendezvousKey KEY = RendezvousKey.of("0123456789abcdef-test-key");
    private static final RendezvousKey OTHER = RendezvousKey.of("another key, at least 16 chars");
    private final Random random = new Random(42);

    private byte[] nonce() {
        byte[] n = new byte[Handshake.NONCE];
        random.nextBytes(n);
        return n;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @Test
    void aHelloAndItsAnswerRoundTripUnderTheKey() throws Exception {
        byte[] server = nonce();
        byte[] client = nonce();
        assertArrayEquals(server, Handshake.challenge(Handshake.challenge(server)));
        byte[] address = new byte[300];
        random.nextBytes(address);
        ByteBuffer hello = Handshake.hello(KEY, server, client, 77, address, new byte[] {1, 2, 3});
        Handshake.Hello h = Handshake.hello(hello, KEY, server);
        assertNotNull(h);
        assertEquals(77, h.connId());
        assertArrayEquals(address, h.workerAddress());
        assertArrayEquals(new byte[] {1, 2, 3}, h.callerData());

        Handshake.Reply accepted = Handshake.reply(Handshake.accepted(KEY, h, 5, address), KEY, client, server);
        assertTrue(accepted.accepted());
        assertEquals(5, accepted.connId());
        assertArrayEquals(address, accepted.workerAddress());
        assertFalse(Handshake.reply(Handshake.refused(KEY, h), KEY, client, server).accepted());
    }

    @Test
    void everyPrefixOfAValidMessageWaitsForMore() throws Exception {
        byte[] server = nonce();
        byte[] client = nonce();
        byte[] hello = bytes(Handshake.hello(KEY, server, client, 1, new byte[200], new byte[10]));
        for (int n = 0; n < hello.length; n++) {
            assertNull(Handshake.hello(ByteBuffer.wrap(hello, 0, n).slice(), KEY, server), "prefix of " + n);
        }
        Handshake.Hello h = Handshake.hello(ByteBuffer.wrap(hello), KEY, server);
        byte[] answer = bytes(Handshake.accepted(KEY, h, 2, new byte[100]));
        for (int n = 0; n < answer.length; n++) {
            assertNull(Handshake.reply(ByteBuffer.wrap(answer, 0, n).slice(), KEY, client, server), "prefix of " + n);
        }
        byte[] challenge = bytes(Handshake.challenge(server));
        for (int n = 0; n < challenge.length; n++) {
            assertNull(Handshake.challenge(ByteBuffer.wrap(challenge, 0, n).slice()), "prefix of " + n);
        }
    }

    @Test
    void aPeerWithoutTheKeyIsRefused() {
        byte[] server = nonce();
        ByteBuffer forged = Handshake.hello(OTHER, server, nonce(), 1, new byte[64], new byte[0]);
        Handshake.Refused refused = assertThrows(Handshake.Refused.class, () -> Handshake.hello(forged, KEY, server));
        assertTrue(refused.getMessage().contains("proof of the shared key"), refused.getMessage());
    }

    @Test
    void aListenerWithoutTheKeyIsRefused() throws Exception {
        byte[] server = nonce();
        byte[] client = nonce();
        Handshake.Hello h = Handshake.hello(Handshake.hello(KEY, server, client, 1, new byte[8], new byte[0]), KEY, server);
        assertThrows(Handshake.Refused.class, () -> Handshake.reply(Handshake.accepted(OTHER, h, 1, new byte[8]), KEY,
                client, server));
        assertThrows(Handshake.Refused.class, () -> Handshake.reply(Handshake.refused(OTHER, h), KEY, client, server));
    }

    @Test
    void aRecordedHelloOrAnswerIsWorthNothingUnderAnotherNonce() throws Exception {
        byte[] server = nonce();
        byte[] client = nonce();
        ByteBuffer recorded = Handshake.hello(KEY, server, client, 1, new byte[64], new byte[0]);
        assertThrows(Handshake.Refused.class, () -> Handshake.hello(recorded.duplicate(), KEY, nonce()));
        Handshake.Hello h = Handshake.hello(recorded.duplicate(), KEY, server);
        ByteBuffer answer = Handshake.accepted(KEY, h, 1, new byte[8]);
        assertThrows(Handshake.Refused.class, () -> Handshake.reply(answer.duplicate(), KEY, nonce(), server));
        // A hello's proof does not pass for an answer's (labels differ).
        byte[] body = ByteBuffer.allocate(12 + 8).putLong(1).putInt(8).put(new byte[8]).array();
        byte[] proof = KEY.mac("sanswitch-ucx-rendezvous-v2 hello".getBytes(), client, server, body);
        ByteBuffer reflected = ByteBuffer.allocate(1 + 4 + body.length + 32).put(Handshake.ACCEPTED).putInt(body.length)
                .put(body).put(proof).flip();
        assertThrows(Handshake.Refused.class, () -> Handshake.reply(reflected, KEY, client, server));
    }

    @Test
    void lengthsAreBoundedBeforeAnythingIsAllocated() {
        byte[] server = nonce();
        for (int lie : new int[] {-1, Integer.MIN_VALUE, 0, 11, Handshake.MAX_MESSAGE, Integer.MAX_VALUE}) {
            ByteBuffer b = ByteBuffer.allocate(48).putInt(Handshake.MAGIC).putInt(Handshake.VERSION).put(nonce())
                    .putInt(lie).flip();
            assertThrows(Handshake.Refused.class, () -> Handshake.hello(b, KEY, server), "body length " + lie);
            ByteBuffer a = ByteBuffer.allocate(5).put(Handshake.ACCEPTED).putInt(lie).flip();
            assertThrows(Handshake.Refused.class, () -> Handshake.reply(a, KEY, nonce(), server), "answer length " + lie);
        }
    }

    @Test
    void fieldsThatLieAboutTheirLengthAreRefusedEvenUnderTheKey() {
        byte[] server = nonce();
        byte[] client = nonce();
        for (int addressLength : new int[] {-1, 1000, Handshake.MAX_WORKER_ADDRESS + 1, 7}) {
            byte[] body = ByteBuffer.allocate(8 + 4 + 8 + 4).putLong(1).putInt(addressLength).put(new byte[8]).putInt(0)
                    .array();
            ByteBuffer hello = ByteBuffer.allocate(44 + body.length + 32).putInt(Handshake.MAGIC).putInt(Handshake.VERSION)
                    .put(client).putInt(body.length).put(body)
                    .put(KEY.mac("sanswitch-ucx-rendezvous-v2 hello".getBytes(), server, client, body)).flip();
            assertThrows(Handshake.Refused.class, () -> Handshake.hello(hello, KEY, server), "address length " + addressLength);
        }
    }

    @Test
    void wrongMagicOrVersionIsRefusedAtOnce() {
        ByteBuffer magic = ByteBuffer.allocate(4).putInt(0x47455420).flip(); // "GET "
        assertThrows(Handshake.Refused.class, () -> Handshake.hello(magic, KEY, nonce()));
        ByteBuffer version = ByteBuffer.allocate(8).putInt(Handshake.MAGIC).putInt(1).flip();
        assertThrows(Handshake.Refused.class, () -> Handshake.hello(version, KEY, nonce()));
        assertThrows(Handshake.Refused.class, () -> Handshake.challenge(version.duplicate()));
    }

    @Test
    void randomBytesGiveAMessageMoreOrARefusalNeverAnotherException() {
        byte[] server = nonce();
        byte[] client = nonce();
        int refused = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] junk = new byte[random.nextInt(120)];
            random.nextBytes(junk);
            if (i % 3 == 0 && junk.length >= 8) { // valid magic and version, random rest
                ByteBuffer.wrap(junk).putInt(Handshake.MAGIC).putInt(Handshake.VERSION);
            }
            for (int parser = 0; parser < 3; parser++) {
                try {
                    switch (parser) {
                        case 0 -> Handshake.hello(ByteBuffer.wrap(junk), KEY, server);
                        case 1 -> Handshake.reply(ByteBuffer.wrap(junk), KEY, client, server);
                        default -> Handshake.challenge(ByteBuffer.wrap(junk));
                    }
                } catch (Handshake.Refused expected) {
                    refused++;
                }
            }
        }
        assertTrue(refused > 10_000, "refusals " + refused);
    }

    @Test
    void aMissingKeyFileIsGeneratedPrivateAndReadBackTheSame(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub").resolve("rdma.key");
        RendezvousKey generated = RendezvousKey.fromFile(file);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(65, Files.size(file)); // 64 hex digits and a newline
        RendezvousKey again = RendezvousKey.fromFile(file);
        byte[] n = nonce();
        assertArrayEquals(generated.mac(n), again.mac(n));
        assertFalse(generated.toString().contains(Files.readString(file).strip()), "the key itself is never shown");
    }

    @Test
    void aKeyFileOthersMayReadOrAShortKeyIsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("rdma.key");
        Files.writeString(file, "a key long enough for the rule\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        IOException e = assertThrows(IOException.class, () -> RendezvousKey.fromFile(file));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertNotNull(RendezvousKey.fromFile(file));
        Files.writeString(file, "short\n");
        assertThrows(IOException.class, () -> RendezvousKey.fromFile(file));
        assertThrows(IllegalArgumentException.class, () -> RendezvousKey.of("  fifteen chars!  "));
    }
}
