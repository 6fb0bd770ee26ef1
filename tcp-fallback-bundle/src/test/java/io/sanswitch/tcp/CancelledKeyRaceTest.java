package io.sanswitch.tcp;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;

import org.junit.jupiter.api.Test;

/**
 * A socket closed by another thread cancels its key at any moment, also between the loop's
 * selection and the socket's reading of the key. The loop thread serves every socket of its
 * selector, so that race must not throw out of it: a release run of the distribution lost a loop
 * thread to a {@link CancelledKeyException} from {@code isAcceptable()} right after {@code isValid()}
 * held, and every later socket of that loop timed out.
 */
class CancelledKeyRaceTest {

    /** A key that is valid when asked and cancelled by the time its ready set is read. */
    private static final class CancelledAfterCheck extends SelectionKey {
        @Override
        public SelectableChannel channel() {
            return null;
        }

        @Override
        public Selector selector() {
            return null;
        }

        @Override
        public boolean isValid() {
            return true;
        }

        @Override
        public void cancel() {
        }

        @Override
        public int interestOps() {
            throw new CancelledKeyException();
        }

        @Override
        public SelectionKey interestOps(int ops) {
            throw new CancelledKeyException();
        }

        @Override
        public int readyOps() {
            throw new CancelledKeyException();
        }
    }

    @Test
    void aKeyCancelledAfterItsCheckEndsTheSocketsTurnQuietly() {
        SelectionKey key = new CancelledAfterCheck();
        assertThrows(CancelledKeyException.class, key::isAcceptable, "the race as the JDK shows it");
        NioSocket socket = new NioSocket(null, null, TcpSettings.DEFAULTS.sockets());
        assertDoesNotThrow(() -> socket.onReady(key));
    }
}
