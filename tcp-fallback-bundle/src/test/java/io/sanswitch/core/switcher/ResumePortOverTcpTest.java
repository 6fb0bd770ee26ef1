package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.tcp.NioTransport;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;

/**
 * docs/migration.md section 3 over the real NIO TCP provider: two switches, one dialing the other's
 * resume port. A resume with the session key reaches the acceptor's session directory and the
 * dialer's future with both received counts; anything else (another key, an unknown id, a plain
 * client's bytes, silence, one handshake too many) is closed and never reaches the directory; the
 * application's own listeners are not touched.
 */
@Timeout(90)
class ResumePortOverTcpTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration RESUME_TIMEOUT = Duration.ofMillis(1500);

    /** The parked sessions of the test, and what the resume port did with them. */
    static final class Directory implements SessionDirectory {
        record Resume(SessionId id, long peerReceived, SwitchSocket socket) {
        }

        final Map<SessionId, Parked> parked = new ConcurrentHashMap<>();
        final AtomicInteger finds = new AtomicInteger();
        final List<Resume> resumes = new CopyOnWriteArrayList<>();

        @Override
        public Parked find(SessionId id) {
            finds.incrementAndGet();
            return parked.get(id);
        }

        @Override
        public boolean resumed(SessionId id, long peerReceived, SwitchSocket socket) {
            resumes.add(new Resume(id, peerReceived, socket));
            return parked.remove(id) != null;
        }
    }

    private final List<Switch> switches = new ArrayList<>();
    private final List<Socket> clients = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        for (Socket c : clients) {
            c.close();
        }
        for (Switch s : switches) {
            s.deactivate();
        }
    }

    private Switch aSwitch(boolean migrate, Duration resumeTimeout, SessionDirectory directory) {
        Switch sw = new Switch(SwitchSettings.withSubnets().withMigration(
                MigrationSettings.defaults().withMigrate(migrate).withResumeTimeout(resumeTimeout)));
        switches.add(sw);
        if (directory != null) {
            sw.sessions(directory);
        }
        sw.bindProvider(new ProviderEngine(new NioTransport(1, true)), Map.of("sanswitch.transport", "tcp"));
        return sw;
    }

    private Socket client(int port) throws IOException {
        Socket s = new Socket(LOOPBACK, port);
        clients.add(s);
        s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(Eventually.WAIT_SECONDS));
        return s;
    }

    /** Reads until the peer ends the connection (end of stream or reset); what came before. */
    private static byte[] readUntilClosed(Socket s) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        try {
            for (int b; (b = in.read()) != -1;) {
                got.write(b);
                assertTrue(got.size() <= ResumeHandshake.REFUSE_BYTES, "more than a refusal from the resume port");
            }
        } catch (SocketException reset) {
            // a reset ends it too; a read timeout (not a SocketException) fails the test
        }
        return got.toByteArray();
    }

    private static void refusesConnections(int port) throws InterruptedException {
        Eventually.until("port " + port + " refuses connections", () -> {
            try (Socket s = new Socket(LOOPBACK, port)) {
                return false;
            } catch (ConnectException refused) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    private static WsaException failureOf(CompletableFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(Eventually.WAIT_SECONDS, TimeUnit.SECONDS));
        WsaException w = assertInstanceOf(WsaException.class, e.getCause());
        assertEquals(WsaError.WSAECONNRESET, w.error(), w.getMessage());
        return w;
    }

    @Test
    @Checks({"SW-migrate-port", "SW-migrate-proof"})
    void aResumeWithTheKeyHandsTheSocketAndBothCountsToBothSides() throws Exception {
        Directory directory = new Directory();
        SessionId id = SessionId.random(RANDOM);
        SessionKey key = SessionKey.derive(SessionKey.newSecret(RANDOM), id, SessionKey.newSecret(RANDOM));
        directory.parked.put(id, new SessionDirectory.Parked(key, 7_000));
        Switch acceptor = aSwitch(true, RESUME_TIMEOUT, directory);
        Switch dialer = aSwitch(false, RESUME_TIMEOUT, null);
        assertNotEquals(0, acceptor.resumePort());
        assertEquals(0, dialer.resumePort(), "no resume port while migrate is off");

        ResumeDial.Resumed r = ResumeDial.dial(dialer, new InetSocketAddress(LOOPBACK, acceptor.resumePort()), id, key,
                123_456).get(Eventually.WAIT_SECONDS, TimeUnit.SECONDS);

        assertEquals(7_000, r.peerReceived());
        assertEquals("tcp", r.socket().provider());
        Directory.Resume taken = Eventually.value("the directory's resume",
                () -> directory.resumes.stream().findFirst());
        assertEquals(id, taken.id());
        assertEquals(123_456, taken.peerReceived());
        // The session goes on over the sockets: bytes after the handshake belong to it, both ways.
        r.socket().send(ByteBuffer.wrap("after".getBytes(StandardCharsets.US_ASCII))).toCompletableFuture().get();
        assertEquals("after", receive(taken.socket(), 5));
        taken.socket().send(ByteBuffer.wrap("back".getBytes(StandardCharsets.US_ASCII))).toCompletableFuture().get();
        assertEquals("back", receive(r.socket(), 4));
        assertEquals(1, directory.resumes.size());
        r.socket().close();
        taken.socket().close();
    }

    private static String receive(SwitchSocket s, int n) throws Exception {
        ByteBuffer into = ByteBuffer.allocate(n);
        while (into.hasRemaining()) {
            assertTrue(s.receive(into).toCompletableFuture().get(Eventually.WAIT_SECONDS, TimeUnit.SECONDS) > 0);
        }
        return new String(into.array(), StandardCharsets.US_ASCII);
    }

    @Test
    void aHelloAndProofInPiecesAreReadWhole() throws Exception {
        Directory directory = new Directory();
        SessionId id = SessionId.random(RANDOM);
        SessionKey key = SessionKey.random(RANDOM);
        directory.parked.put(id, new SessionDirectory.Parked(key, 99));
        Switch acceptor = aSwitch(true, Duration.ofSeconds(30), directory);
        Socket plain = client(acceptor.resumePort());
        plain.setTcpNoDelay(true);
        ResumeHandshake.Dialer d = new ResumeHandshake.Dialer(id, key, 42, RANDOM);
        byte[] hello = d.start().send();
        for (byte b : hello) {
            plain.getOutputStream().write(b); // one segment per byte: the acceptor's receives come in pieces
        }
        ResumeHandshake.Step proof = d.received(plain.getInputStream().readNBytes(ResumeHandshake.CHALLENGE_BYTES));
        plain.getOutputStream().write(proof.send(), 0, 7);
        plain.getOutputStream().write(proof.send(), 7, ResumeHandshake.PROOF_BYTES - 7);
        ResumeHandshake.Step accepted = d.received(plain.getInputStream().readNBytes(ResumeHandshake.ACCEPT_BYTES));
        assertTrue(accepted.succeeded(), String.valueOf(accepted));
        assertEquals(99, accepted.peerReceived());
        Directory.Resume taken = Eventually.value("the directory's resume", () -> directory.resumes.stream().findFirst());
        assertEquals(42, taken.peerReceived());
        taken.socket().close();
    }

    @Test
    @Checks("SW-migrate-proof")
    void anotherKeyFailsBothSides() throws Exception {
        Directory directory = new Directory();
        SessionId id = SessionId.random(RANDOM);
        directory.parked.put(id, new SessionDirectory.Parked(SessionKey.random(RANDOM), 0));
        Switch acceptor = aSwitch(true, RESUME_TIMEOUT, directory);
        Switch dialer = aSwitch(false, RESUME_TIMEOUT, null);

        WsaException e = failureOf(ResumeDial.dial(dialer, new InetSocketAddress(LOOPBACK, acceptor.resumePort()), id,
                SessionKey.random(RANDOM), 5));

        // The dialer reads the refusal only after the acceptor refused.
        assertTrue(e.getMessage().contains("refused"), e.getMessage());
        assertTrue(e.getMessage().contains(id.toString()), e.getMessage());
        assertEquals(1, directory.finds.get());
        assertEquals(List.of(), directory.resumes, "a bad proof never reaches the directory");
        assertTrue(directory.parked.containsKey(id), "the session stays parked for its real connector");
    }

    @Test
    @Checks("SW-migrate-proof")
    void anUnknownIdIsRefused() throws Exception {
        Directory directory = new Directory();
        Switch acceptor = aSwitch(true, RESUME_TIMEOUT, directory);
        Switch dialer = aSwitch(false, RESUME_TIMEOUT, null);

        WsaException e = failureOf(ResumeDial.dial(dialer, new InetSocketAddress(LOOPBACK, acceptor.resumePort()),
                SessionId.random(RANDOM), SessionKey.random(RANDOM), 5));

        assertTrue(e.getMessage().contains("refused"), e.getMessage());
        assertEquals(1, directory.finds.get());
        assertEquals(List.of(), directory.resumes);
    }

    @Test
    void aDialToNoResumePortOrOneThatNeverAnswersFails() throws Exception {
        Switch dialer = aSwitch(false, RESUME_TIMEOUT, null);
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, LOOPBACK)) {
            closedPort = probe.getLocalPort();
        }
        WsaException refused = failureOf(ResumeDial.dial(dialer, new InetSocketAddress(LOOPBACK, closedPort),
                SessionId.random(RANDOM), SessionKey.random(RANDOM), 5));
        assertTrue(refused.getMessage().contains("could not connect"), refused.getMessage());
        // A listener that accepts and says nothing: the dial ends at the resume timeout.
        try (ServerSocket silent = new ServerSocket(0, 1, LOOPBACK)) {
            CompletableFuture<ResumeDial.Resumed> f = ResumeDial.dial(dialer,
                    new InetSocketAddress(LOOPBACK, silent.getLocalPort()), SessionId.random(RANDOM),
                    SessionKey.random(RANDOM), 5);
            try (Socket held = silent.accept()) {
                WsaException timedOut = failureOf(f);
                assertTrue(timedOut.getMessage().contains("timed out"), timedOut.getMessage());
            }
        }
    }

    @Test
    @Checks({"SW-migrate-port", "SW-migrate-proof"})
    void plainClientsAreClosedAndNeverReachTheDirectory() throws Exception {
        Directory directory = new Directory();
        Switch acceptor = aSwitch(true, RESUME_TIMEOUT, directory);
        int port = acceptor.resumePort();

        Socket http = client(port);
        http.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        Socket silent = client(port);
        Socket noise = client(port);
        byte[] mib = new byte[1 << 20];
        new Random(13).nextBytes(mib);
        CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
            try {
                noise.getOutputStream().write(mib);
            } catch (IOException endedByTheResumePort) {
                // the resume port closes long before a mebibyte
            }
        });

        assertEquals(0, readUntilClosed(http).length, "18 bytes of a hello: closed at the timeout, nothing said");
        assertEquals(0, readUntilClosed(silent).length, "silence: closed at the timeout");
        byte[] answer = readUntilClosed(noise);
        assertTrue(answer.length == 0 || answer.length == ResumeHandshake.REFUSE_BYTES, "a refusal or nothing");
        if (answer.length > 0) {
            assertArrayEquals(ResumeHandshake.refusal(), answer);
        }
        writing.get(Eventually.WAIT_SECONDS, TimeUnit.SECONDS);
        assertEquals(0, directory.finds.get(), "no plain client's bytes were taken for a session id");
        assertEquals(List.of(), directory.resumes);
    }

    @Test
    void theSixtyFifthHandshakeAtOnceIsClosedAtOnce() throws Exception {
        Directory directory = new Directory();
        // Handshakes that would wait a minute: the 65th ends long before, so not by the timeout.
        Switch sw = aSwitch(false, Duration.ofSeconds(60), null);
        try (ResumePort port = ResumePort.open(sw, 0, directory)) {
            for (int i = 0; i < ResumePort.MAX_HANDSHAKES; i++) {
                client(port.port());
            }
            Eventually.until("64 handshakes under way", () -> port.handshakes() == ResumePort.MAX_HANDSHAKES);
            Socket extra = client(port.port());
            assertEquals(0, readUntilClosed(extra).length);
            assertEquals(ResumePort.MAX_HANDSHAKES, port.handshakes(), "the first 64 wait on");
            for (Socket c : clients) {
                c.close();
            }
            Eventually.until("the handshakes whose peers left ended", () -> port.handshakes() == 0);
        }
        assertEquals(0, directory.finds.get());
    }

    @Test
    @Checks("SW-migrate-port")
    void theApplicationsListenersAreUntouchedAndHelloBytesThereAreItsData() throws Exception {
        Directory directory = new Directory();
        SessionId id = SessionId.random(RANDOM);
        SessionKey key = SessionKey.random(RANDOM);
        directory.parked.put(id, new SessionDirectory.Parked(key, 0));
        Switch sw = aSwitch(true, RESUME_TIMEOUT, directory);
        assertNotEquals(0, sw.resumePort());
        try (SwitchServerSocket app = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4)) {
            assertNotEquals(sw.resumePort(), app.localAddress().getPort());
            Socket plain = client(app.localAddress().getPort());
            byte[] hello = new ResumeHandshake.Dialer(id, key, 0, RANDOM).start().send();
            plain.getOutputStream().write(hello);
            try (SwitchSocket s = app.accept()) {
                ByteBuffer got = ByteBuffer.allocate(hello.length);
                while (got.hasRemaining()) {
                    assertTrue(s.receive(got).toCompletableFuture().get(Eventually.WAIT_SECONDS, TimeUnit.SECONDS) > 0);
                }
                assertArrayEquals(hello, got.array(), "on the application's port a hello is the application's data");
                s.send(ByteBuffer.wrap(new byte[] {42})).toCompletableFuture().get();
                assertEquals(42, plain.getInputStream().read());
            }
        }
        assertEquals(0, directory.finds.get(), "nothing on the application's port reached the resume port");
    }

    @Test
    @Checks("SW-migrate-port")
    void theResumePortFollowsMigrateAndAPortInUseIsNoCrash() throws Exception {
        Switch sw = new Switch(Map.of("migrate", "true", "resumeTimeoutMillis", "1500"));
        switches.add(sw);
        assertEquals(0, sw.resumePort(), "no TCP provider yet");
        sw.bindProvider(new ProviderEngine(new NioTransport(1, true)), Map.of("sanswitch.transport", "tcp"));
        int first = sw.resumePort();
        assertNotEquals(0, first, "opened when the TCP provider came");

        sw.modified(Map.of("migrate", "false"));
        assertEquals(0, sw.resumePort());
        refusesConnections(first);

        sw.modified(Map.of("migrate", "true"));
        assertNotEquals(0, sw.resumePort(), "open again");

        try (ServerSocket taken = new ServerSocket(0, 1, new InetSocketAddress(0).getAddress())) {
            sw.modified(Map.of("migrate", "true", "resumePort", String.valueOf(taken.getLocalPort())));
            assertEquals(0, sw.resumePort(), "a port in use: no resume port, no crash");
            // The switch runs on: the application can still listen and be reached.
            try (SwitchServerSocket app = sw.listen(new InetSocketAddress(LOOPBACK, 0), 4)) {
                Socket plain = client(app.localAddress().getPort());
                try (SwitchSocket s = app.accept()) {
                    assertEquals(app.localAddress().getPort(), s.localAddress().getPort());
                    plain.getOutputStream().write(1);
                    assertEquals("\u0001", receive(s, 1));
                }
            }
        }
        sw.modified(Map.of("migrate", "true"));
        int again = sw.resumePort();
        assertNotEquals(0, again);
        sw.deactivate();
        assertEquals(0, sw.resumePort(), "closed at deactivation");
        refusesConnections(again);
    }
}
