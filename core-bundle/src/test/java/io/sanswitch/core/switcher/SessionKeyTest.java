package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Random;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;

/** docs/migration.md section 2: the session key both sides derive from the two SESSION frames. */
class SessionKeyTest {
    private final Random random = new Random(13);

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    @Test
    void theKeyIsTheHmacOfTheConnectorsSecretOverLabelIdAndAcceptorsSecret() throws Exception {
        byte[] connector = bytes(32);
        byte[] id = bytes(16);
        byte[] acceptor = bytes(32);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(connector, "HmacSHA256"));
        mac.update("sanswitch-session-key".getBytes(StandardCharsets.US_ASCII));
        mac.update(id);
        mac.update(acceptor);
        byte[] expected = mac.doFinal();

        SessionKey key = SessionKey.derive(connector, SessionId.of(id), acceptor);

        assertEquals(32, key.bytes().length);
        assertArrayEquals(expected, key.bytes());
    }

    @Test
    void bothSidesDeriveTheSameKeyFromWhatTheFramesCarried() {
        SecureRandom sr = new SecureRandom();
        byte[] connectorSecret = SessionKey.newSecret(sr);
        byte[] acceptorSecret = SessionKey.newSecret(sr);
        SessionId id = SessionId.random(sr);
        // Each side has its own secret and the other's from its SESSION frame; the id travels as bytes.
        SessionKey atConnector = SessionKey.derive(connectorSecret, id, acceptorSecret.clone());
        SessionKey atAcceptor = SessionKey.derive(connectorSecret.clone(), SessionId.of(id.bytes()), acceptorSecret);
        assertEquals(atConnector, atAcceptor);
        assertArrayEquals(atConnector.bytes(), atAcceptor.bytes());
    }

    @Test
    void anotherSecretIdOrOrderGivesAnotherKey() {
        byte[] c = bytes(32);
        byte[] a = bytes(32);
        SessionId id = SessionId.of(bytes(16));
        SessionKey key = SessionKey.derive(c, id, a);
        assertNotEquals(key, SessionKey.derive(bytes(32), id, a), "another connector secret");
        assertNotEquals(key, SessionKey.derive(c, id, bytes(32)), "another acceptor secret");
        assertNotEquals(key, SessionKey.derive(c, SessionId.of(bytes(16)), a), "another id");
        assertNotEquals(key, SessionKey.derive(a, id, c), "the secrets swapped");
    }

    @Test
    void wrongLengthsAreRefusedAndTheKeyIsNeverPrinted() {
        SessionId id = SessionId.of(bytes(16));
        assertThrows(IllegalArgumentException.class, () -> SessionKey.derive(bytes(31), id, bytes(32)));
        assertThrows(IllegalArgumentException.class, () -> SessionKey.derive(bytes(32), id, bytes(33)));
        assertThrows(IllegalArgumentException.class, () -> SessionId.of(bytes(15)));
        assertThrows(IllegalArgumentException.class, () -> SessionKey.of(bytes(16)));
        SessionKey key = SessionKey.of(bytes(32));
        String hex = java.util.HexFormat.of().formatHex(key.bytes());
        assertFalse(key.toString().contains(hex.substring(0, 8)), key.toString());
        assertEquals(32, SessionKey.newSecret(new SecureRandom()).length);
    }
}
