package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.conformance.KitProvider;
import io.sanswitch.conformance.KitSwitch;
import io.sanswitch.conformance.Ports;
import io.sanswitch.spi.ConditionDecision;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * A peer that completes the rendezvous handshake with the address from the issue (version 13 in
 * the header, random bytes after it) fails that one connection and nothing else: the accept with
 * WSAECONNRESET, the connect with an error; the provider goes on accepting real peers. Without
 * the check UCX asserts in {@code ucp_address_unpack} and this JVM aborts.
 */
@Timeout(60)
class WorkerAddressHookTest {
    private KitProvider server;
    private KitProvider client;

    @AfterEach
    void close() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static byte[] issuesAddress(byte[] real) {
        byte[] a = real.clone();
        a[0] = (byte) ((a[0] & 0xF0) | 13);
        Random rnd = new Random(13);
        for (int i = 9; i < a.length; i++) {
            a[i] = (byte) rnd.nextInt(256);
        }
        return a;
    }

    /** Reads until the provider ends the rendezvous connection: closed or reset (not a timeout). */
    private static void awaitEnd(InputStream in) throws java.io.IOException {
        try {
            while (in.read() >= 0) {
                // the rest of the handshake
            }
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the provider left the rendezvous connection open", e);
        } catch (java.net.SocketException reset) {
            // ended abortively: fine
        }
    }

    @Test
    void anAcceptOfAMalformedAddressFailsWithAResetAndTheListenerLivesOn() throws Exception {
        server = new KitProvider(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        server.startup();
        InetSocketAddress at = Ports.freeLoopback();
        KitSwitch.Event acceptEvent = new KitSwitch.Event();
        SocketHandle listener = server.listen(at, 8, acceptEvent);
        byte[] bad = issuesAddress(((UcxTransport) server.transport).workerAddress());
        try (SocketChannel hostile = SocketChannel.open(at)) {
            // A peer that holds the key (docs/security.md, SEC-3: the check stands behind it).
            ByteBuffer challenge = ByteBuffer.allocate(Handshake.CHALLENGE);
            while (challenge.hasRemaining() && hostile.read(challenge) >= 0) {
                // the listener's challenge
            }
            byte[] serverNonce = Handshake.challenge(challenge.flip());
            ByteBuffer hello = Handshake.hello(RendezvousKey.Source.defaults().load(), serverNonce,
                    new byte[Handshake.NONCE], 7, bad, new byte[0]);
            while (hello.hasRemaining()) {
                hostile.write(hello);
            }
            WsaException refused = assertThrows(WsaException.class,
                    () -> server.accept(listener, acceptEvent, ConditionDecision.CF_ACCEPT));
            assertEquals(WsaError.WSAECONNRESET, refused.error(), refused.getMessage());
            // The hostile peer's connection is ended, not left hanging.
            hostile.socket().setSoTimeout(10_000);
            awaitEnd(hostile.socket().getInputStream());
        }
        // The same listener still accepts a real peer.
        client = new KitProvider(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        client.startup();
        assertNotNull(client.connectTo(server, listener, acceptEvent, at).server());
    }

    @Test
    void aConnectAnsweredWithAMalformedAddressFails() throws Exception {
        client = new KitProvider(new UcxTransport(ProgressPolicy.SPIN_THEN_WAKEUP, ""));
        client.startup();
        byte[] bad = issuesAddress(((UcxTransport) client.transport).workerAddress());
        try (ServerSocket hostile = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> answered = CompletableFuture.runAsync(() -> {
                try (Socket s = hostile.accept()) {
                    InputStream in = s.getInputStream();
                    byte[] serverNonce = new byte[Handshake.NONCE];
                    ByteBuffer challenge = Handshake.challenge(serverNonce);
                    s.getOutputStream().write(challenge.array(), 0, challenge.limit());
                    // The hello: header, then its body and proof (a listener that holds the key).
                    ByteBuffer header = ByteBuffer.wrap(in.readNBytes(4 + 4 + Handshake.NONCE + 4));
                    byte[] rest = in.readNBytes(header.getInt(4 + 4 + Handshake.NONCE) + Handshake.MAC);
                    byte[] whole = ByteBuffer.allocate(header.capacity() + rest.length).put(header.array()).put(rest).array();
                    RendezvousKey key = RendezvousKey.Source.defaults().load();
                    Handshake.Hello hello = Handshake.hello(ByteBuffer.wrap(whole), key, serverNonce);
                    ByteBuffer reply = Handshake.accepted(key, hello, 9, bad);
                    s.getOutputStream().write(reply.array(), reply.arrayOffset(), reply.remaining());
                    s.getOutputStream().flush();
                    s.setSoTimeout(10_000);
                    awaitEnd(in);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            WsaError error = client.connect(client.socket(), (InetSocketAddress) hostile.getLocalSocketAddress());
            assertNotNull(error, "the connect to a peer with a malformed address failed");
            answered.get(20, TimeUnit.SECONDS);
        }
    }
}
