package io.sanswitch.core.switcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;

import io.sanswitch.api.SwitchSocket;

/**
 * Blocking streams over a {@link SwitchSocket}'s asynchronous calls, for applications written
 * against java.io: each read and write waits for its receive or send; closing either closes the socket.
 */
final class SocketStreams {
    private SocketStreams() {
    }

    static InputStream input(SwitchSocket socket) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                return await(socket.receive(ByteBuffer.wrap(b, off, len)));
            }

            @Override
            public void close() {
                socket.close();
            }
        };
    }

    static OutputStream output(SwitchSocket socket) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len > 0) {
                    await(socket.send(ByteBuffer.wrap(b, off, len)));
                }
            }

            @Override
            public void close() {
                socket.close();
            }
        };
    }

    private static int await(CompletionStage<Integer> stage) throws IOException {
        try {
            return stage.toCompletableFuture().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        }
    }
}
