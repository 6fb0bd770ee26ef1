package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sanswitch.testing.Checks;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchSocket;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.PostedOperation;
import io.sanswitch.testing.Eventually;

/**
 * The switch's one policy for a failed operation of a connection, whichever operation it is: what
 * the application has pending fails with the operation's error (an aborted operation as
 * {@code WSA_OPERATION_ABORTED}), every later call with {@code WSAECONNRESET}.
 */
@Timeout(30)
class SwitchOperationFailureTest {
    private static final InetSocketAddress SAN_PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);

    private final ScriptedTransport rdma = new ScriptedTransport();
    private final ProviderEngine engine = new ProviderEngine(rdma);
    private Switch sw;
    private SwitchSocket socket;
    private ScriptedTransport.ScriptedSocket wire;

    @BeforeEach
    void connect() throws Exception {
        sw = new Switch(SwitchSettings.withSubnets("127.0.0.0/8"));
        sw.bindProvider(engine, Map.of("sanswitch.transport", "ucx"));
        socket = sw.connectAsync(SAN_PEER).toCompletableFuture().get(10, TimeUnit.SECONDS);
        wire = rdma.sockets.get(rdma.sockets.size() - 1);
    }

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    @Test
    @Checks("SW-established")
    void aFailedReceiveFailsThePendingReceiveWithItsError() throws Exception {
        CompletableFuture<Integer> pending = socket.receive(ByteBuffer.allocate(8)).toCompletableFuture();
        fail(awaitHeld(PostedOperation.Kind.RECV), WsaError.WSAECONNABORTED);

        assertEquals(WsaError.WSAECONNABORTED, failure(pending), "the pending receive");
        assertLaterCallsSeeAReset();
    }

    @Test
    void anAbortedSendFailsThePendingSendAsAborted() throws Exception {
        // The HELLO is in flight; the application's send waits behind it, then the HELLO's send is aborted.
        PostedOperation hello = awaitHeld(PostedOperation.Kind.SEND);
        CompletableFuture<Integer> pending = socket.send(ByteBuffer.wrap(new byte[] {1, 2, 3})).toCompletableFuture();
        fail(hello, WsaError.WSA_OPERATION_ABORTED);

        assertEquals(WsaError.WSA_OPERATION_ABORTED, failure(pending), "the pending send");
        assertLaterCallsSeeAReset();
    }

    @Test
    void aSendTheProviderRefusesFailsWithTheRefusal() throws Exception {
        PostedOperation hello = awaitHeld(PostedOperation.Kind.SEND);
        wire.held.remove(hello);
        rdma.events.operationCompleted(hello, hello.length()); // our HELLO went
        rdma.fail(ScriptedTransport.Primitive.POST, WsaError.WSAENOBUFS);
        CompletionStage<Integer> send = socket.send(ByteBuffer.wrap(new byte[] {1, 2, 3}));

        assertEquals(WsaError.WSAENOBUFS, failure(send), "the refused send");
        rdma.fail(ScriptedTransport.Primitive.POST, null);
        assertLaterCallsSeeAReset();
    }

    private void assertLaterCallsSeeAReset() {
        assertFalse(socket.isOpen());
        assertEquals(WsaError.WSAECONNRESET, failure(socket.send(ByteBuffer.wrap(new byte[] {1}))), "a later send");
        assertEquals(WsaError.WSAECONNRESET, failure(socket.receive(ByteBuffer.allocate(8))), "a later receive");
    }

    private void fail(PostedOperation op, WsaError error) {
        wire.held.remove(op);
        rdma.events.operationFailed(op, error, 0);
    }

    private List<PostedOperation> held(PostedOperation.Kind kind) {
        return wire.held.stream().filter(op -> op.kind() == kind).toList();
    }

    private PostedOperation awaitHeld(PostedOperation.Kind kind) throws InterruptedException {
        return Eventually.value("the switch posts a " + kind, () -> held(kind).stream().findFirst());
    }

    private static WsaError failure(CompletionStage<Integer> op) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> op.toCompletableFuture().get(10, TimeUnit.SECONDS));
        return assertInstanceOf(WsaException.class, e.getCause()).error();
    }
}
