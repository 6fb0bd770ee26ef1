package io.sanswitch.demo;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.sanswitch.spi.MemoryHandle;
import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;
import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaBuf;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * One client connection to the echo server on one provider. The server end runs in its own thread,
 * as a real echo server would: it always keeps a receive posted and sends back what arrives. The
 * client end (the caller's thread) keeps its receive posted while it sends, because UCX moves
 * tagged messages by rendezvous: a send completes only once the peer has a receive for it.
 */
final class EchoLink {
    static final int CHUNK = 256 * 1024;
    private static final java.util.concurrent.atomic.AtomicInteger SERIAL = new java.util.concurrent.atomic.AtomicInteger();

    final ProviderSide side;
    private final SanServiceProvider p;
    private final SocketHandle client;
    private final SocketHandle server;
    private final ByteBuffer out = ByteBuffer.allocateDirect(CHUNK);
    private final ByteBuffer back = ByteBuffer.allocateDirect(CHUNK);
    private final ByteBuffer relay = ByteBuffer.allocateDirect(CHUNK);
    private final MemoryHandle outMem;
    private final MemoryHandle backMem;
    private final MemoryHandle relayMem;
    private final Overlapped clientSend = Overlapped.notifying(null);
    private final Overlapped clientRecv = Overlapped.notifying(null);
    private final Overlapped serverSend = Overlapped.notifying(null);
    private final Overlapped serverRecv = Overlapped.notifying(null);
    private final Thread echoServer;
    private volatile boolean closed;

    /** The provider failed an operation of this link: why, for the event line. */
    static final class Broken extends Exception {
        private static final long serialVersionUID = 1L;
        final WsaError error;

        Broken(WsaError error, String message) {
            super(message);
            this.error = error;
        }
    }

    EchoLink(ProviderSide side) throws WsaException, InterruptedException {
        this.side = side;
        this.p = side.provider;
        SocketHandle[] pair = side.connect();
        this.client = pair[0];
        this.server = pair[1];
        try {
            outMem = p.registerMemory(client, out, Winsock.MEM_READ);
            backMem = p.registerMemory(client, back, Winsock.MEM_WRITE);
            relayMem = p.registerMemory(server, relay, Winsock.MEM_READWRITE);
            p.recv(server, new WsaBuf[] {WsaBuf.of(relayMem)}, serverRecv);
        } catch (WsaException | RuntimeException e) {
            close();
            throw e;
        }
        echoServer = new Thread(this::serve, "sanswitch-demo-echo-" + SERIAL.incrementAndGet());
        echoServer.setDaemon(true);
        echoServer.start();
    }

    /** The server end: echo whatever arrives until the link closes or the provider aborts it. */
    private void serve() {
        try {
            while (!closed) {
                OverlappedResult r = serverRecv.awaitResult(100, TimeUnit.MILLISECONDS);
                if (r == null) {
                    continue;
                }
                if (!r.isSuccess() || r.bytesTransferred() == 0) {
                    return; // aborted by a close or a final cleanup, or the client went away
                }
                p.send(server, new WsaBuf[] {new WsaBuf(relayMem, 0, (int) r.bytesTransferred())}, 0, serverSend);
                OverlappedResult sent = serverSend.awaitResult(ProviderSide.WAIT_MILLIS, TimeUnit.MILLISECONDS);
                if (sent == null || !sent.isSuccess()) {
                    return;
                }
                p.recv(server, new WsaBuf[] {WsaBuf.of(relayMem)}, serverRecv);
            }
        } catch (WsaException e) {
            // the provider was cleaned up under the server: the client sees it and falls back
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An idle connection: the client also waits for data that never comes. */
    void idle() throws WsaException {
        p.recv(client, new WsaBuf[] {WsaBuf.of(backMem)}, clientRecv);
    }

    /**
     * One chunk through the echo.
     *
     * @return bytes echoed and checked
     * @throws Broken the provider ended an operation with an error (aborted by a final cleanup)
     * @throws IllegalStateException the data came back different: a real bug, never a fallback
     */
    long echo(long round) throws WsaException, Broken, InterruptedException {
        for (int i = 0; i < CHUNK; i += 8) {
            out.putLong(i, round * 0x9E3779B97F4A7C15L + i);
        }
        p.recv(client, new WsaBuf[] {WsaBuf.of(backMem)}, clientRecv);
        p.send(client, new WsaBuf[] {WsaBuf.of(outMem)}, 0, clientSend);
        int got = (int) await(clientRecv, "client receive");
        while (got < CHUNK) {
            p.recv(client, new WsaBuf[] {new WsaBuf(backMem, got, CHUNK - got)}, clientRecv);
            got += (int) await(clientRecv, "client receive");
        }
        await(clientSend, "client send");
        int at = back.mismatch(out);
        if (at != -1) {
            throw new IllegalStateException("echo over " + side.name + " came back different at byte " + at);
        }
        return CHUNK;
    }

    private static long await(Overlapped ov, String what) throws Broken, InterruptedException {
        OverlappedResult r = ov.awaitResult(ProviderSide.WAIT_MILLIS, TimeUnit.MILLISECONDS);
        if (r == null) {
            throw new Broken(WsaError.WSAETIMEDOUT, what + " did not complete in " + ProviderSide.WAIT_MILLIS + " ms");
        }
        if (!r.isSuccess()) {
            throw new Broken(r.error(), what + " completed with " + r.error());
        }
        if (r.bytesTransferred() == 0) {
            throw new Broken(WsaError.WSAECONNRESET, what + ": the connection ended");
        }
        return r.bytesTransferred();
    }

    /** Closes both ends and waits for the server thread; after a final cleanup they are already gone. */
    void close() throws InterruptedException {
        closed = true;
        for (SocketHandle s : new SocketHandle[] {client, server}) {
            try {
                p.closeSocket(s);
            } catch (WsaException | RuntimeException e) {
                // reset and released by the provider's final cleanup
            }
        }
        if (echoServer != null) {
            echoServer.join(ProviderSide.WAIT_MILLIS);
        }
    }
}
