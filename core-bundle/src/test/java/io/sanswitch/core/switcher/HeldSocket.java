package io.sanswitch.core.switcher;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import io.sanswitch.api.ProviderChoice;
import io.sanswitch.api.SanSocketOption;
import io.sanswitch.api.SwitchSocket;

/**
 * A resume socket whose sends and receives complete when the test says, in any order: what a moved
 * session's halves ({@link ResumedSends}, {@link ResumedReceives}) see of their socket. A send's bytes
 * are read when it completes, as a socket may read them until then.
 */
final class HeldSocket implements SwitchSocket {
    /** One call of {@link #send} or {@link #receive}. */
    static final class Call {
        final ByteBuffer buffer;
        final CompletableFuture<Integer> done = new CompletableFuture<>();

        Call(ByteBuffer buffer) {
            this.buffer = buffer;
        }
    }

    final List<Call> sends = new ArrayList<>();
    final List<Call> receives = new ArrayList<>();
    /** The bytes of the completed sends, in the order they were made (a socket's sends go in that order). */
    private final List<byte[]> sentBytes = new ArrayList<>();

    @Override
    public CompletionStage<Integer> send(ByteBuffer data) {
        Call c = new Call(data);
        sends.add(c);
        sentBytes.add(null);
        return c.done;
    }

    /** Completes send {@code i}: its bytes are read now. */
    void sent(int i) {
        Call c = sends.get(i);
        byte[] b = new byte[c.buffer.remaining()];
        c.buffer.get(b);
        sentBytes.set(i, b);
        c.done.complete(b.length);
    }

    /** Sends made and not completed. */
    long sendsPending() {
        return sends.stream().filter(c -> !c.done.isDone()).count();
    }

    /** Every byte sent, in order; each send completed. */
    byte[] wire() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] b : sentBytes) {
            if (b == null) {
                throw new AssertionError("a send is not completed");
            }
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    @Override
    public CompletionStage<Integer> receive(ByteBuffer into) {
        Call c = new Call(into);
        receives.add(c);
        return c.done;
    }

    /** Completes receive {@code i} with {@code bytes} (null: the end of the stream). */
    void arrive(int i, byte[] bytes) {
        Call c = receives.get(i);
        if (bytes == null) {
            c.done.complete(-1);
            return;
        }
        c.buffer.put(bytes);
        c.done.complete(bytes.length);
    }

    long receivesPending() {
        return receives.stream().filter(c -> !c.done.isDone()).count();
    }

    @Override
    public InputStream inputStream() {
        throw new UnsupportedOperationException();
    }

    @Override
    public OutputStream outputStream() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
    }

    @Override
    public void abort() {
    }

    @Override
    public String provider() {
        return "tcp";
    }

    @Override
    public ProviderChoice choice() {
        throw new UnsupportedOperationException();
    }

    @Override
    public InetSocketAddress localAddress() {
        return null;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return null;
    }

    @Override
    public boolean isOpen() {
        return true;
    }

    @Override
    public <T> void setOption(SanSocketOption<T> option, T value) {
        throw new UnsupportedOperationException();
    }

    @Override
    public <T> T getOption(SanSocketOption<T> option) {
        throw new UnsupportedOperationException();
    }
}
