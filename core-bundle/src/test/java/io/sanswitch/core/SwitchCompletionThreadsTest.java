package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

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
import io.sanswitch.transport.TransportCapabilities;
import io.sanswitch.testing.Eventually;

/**
 * On which thread the switch handles a provider's completion (issue 12): a successful one at once on
 * the provider's thread when the connection is idle (no hop), a failed one on a switch thread, and
 * the aborted completions of a final cleanup never on the thread running the cleanup (the framework
 * thread stopping a bundle).
 */
@Timeout(30)
class SwitchCompletionThreadsTest {
    private static final InetSocketAddress PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);
    private static final String SWITCH_THREAD = "sanswitch-switch-io-";

    private final ScriptedTransport tcp = new ScriptedTransport(TransportCapabilities.streamOnly());
    private final ProviderEngine engine = new ProviderEngine(tcp);
    private Switch sw;
    private SwitchSocket socket;
    private ScriptedTransport.ScriptedSocket wire;

    @BeforeEach
    void connect() throws Exception {
        sw = new Switch(SwitchSettings.withSubnets());
        sw.bindProvider(engine, Map.of("sanswitch.transport", "tcp"));
        socket = sw.connectAsync(PEER).toCompletableFuture().get(10, TimeUnit.SECONDS);
        wire = tcp.sockets.get(tcp.sockets.size() - 1);
    }

    @AfterEach
    void stop() {
        sw.deactivate();
    }

    /** A receive whose stage notes the thread it completes on (a non-async continuation runs there). */
    private record Watched(CompletableFuture<Integer> stage, AtomicReference<Thread> thread) {
        static Watched of(java.util.concurrent.CompletionStage<Integer> s) {
            AtomicReference<Thread> t = new AtomicReference<>();
            CompletableFuture<Integer> f = s.toCompletableFuture().whenComplete((v, e) -> t.set(Thread.currentThread()));
            return new Watched(f, t);
        }

        String threadName() throws InterruptedException {
            try {
                stage.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException expected) {
                // the failure is checked by the caller
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("the stage did not complete", e);
            }
            assertNotNull(thread.get());
            return thread.get().getName();
        }
    }

    private PostedOperation awaitHeld(PostedOperation.Kind kind) throws InterruptedException {
        return Eventually.value("the switch posts a " + kind, () -> wire.held.stream().filter(op -> op.kind() == kind).findFirst());
    }

    /** Runs {@code action} on a thread named {@code name}, as a backend's or the framework's thread. */
    private static void onThread(String name, Runnable action) throws InterruptedException {
        Thread t = new Thread(action, name);
        t.start();
        t.join(20_000);
        assertTrue(!t.isAlive(), name + " ended");
    }

    private static WsaError errorOf(CompletableFuture<Integer> f) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> f.get(10, TimeUnit.SECONDS));
        Throwable cause = e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause();
        return assertInstanceOf(WsaException.class, cause).error();
    }

    @Test
    void aSuccessfulReceiveCompletionCompletesTheApplicationsReceiveOnTheProvidersThread() throws Exception {
        List<String> seen = new ArrayList<>();
        // The connection must be idle when the completion comes; right after the connect its queue may
        // still be finishing the start on a switch thread, so a first round may hop. Later ones do not.
        for (int round = 0; round < 20; round++) {
            Watched receive = Watched.of(socket.receive(ByteBuffer.allocate(8)));
            PostedOperation recv = awaitHeld(PostedOperation.Kind.RECV);
            byte value = (byte) round;
            onThread("scripted-provider", () -> {
                recv.buffers()[0].duplicate().put(value);
                wire.held.remove(recv);
                tcp.events.operationCompleted(recv, 1);
            });
            assertEquals(1, receive.stage().get(10, TimeUnit.SECONDS));
            String name = receive.threadName();
            seen.add(name);
            assertTrue(name.equals("scripted-provider") || name.startsWith(SWITCH_THREAD), seen.toString());
            if (name.equals("scripted-provider")) {
                return;
            }
        }
        throw new AssertionError("no receive completed on the provider's thread: " + seen);
    }

    @Test
    void aFailedCompletionIsHandledOnASwitchThreadNotTheProviders() throws Exception {
        Watched receive = Watched.of(socket.receive(ByteBuffer.allocate(8)));
        PostedOperation recv = awaitHeld(PostedOperation.Kind.RECV);

        onThread("scripted-provider", () -> {
            wire.held.remove(recv);
            tcp.events.operationFailed(recv, WsaError.WSAECONNABORTED, 0);
        });

        assertEquals(WsaError.WSAECONNABORTED, errorOf(receive.stage()));
        assertTrue(receive.threadName().startsWith(SWITCH_THREAD), receive.threadName());
    }

    @Test
    @Checks("SW-withdrawn")
    void theCoresForcedFinalCleanupAbortsPendingReceivesOnSwitchThreadsNotTheFrameworkThread() throws Exception {
        Watched receive = Watched.of(socket.receive(ByteBuffer.allocate(8)));
        awaitHeld(PostedOperation.Kind.RECV);

        // The core's final cleanup on bundle stop, whatever the count: the switch has not withdrawn
        // the provider, only the completion's failure keeps it off the cleanup's thread.
        onThread("framework-stop", () -> {
            try {
                engine.finalCleanup(CleanupReason.TRANSPORT_LEAVING);
            } catch (WsaException e) {
                throw new IllegalStateException(e);
            }
        });

        assertEquals(WsaError.WSA_OPERATION_ABORTED, errorOf(receive.stage()));
        assertTrue(receive.threadName().startsWith(SWITCH_THREAD), receive.threadName());
    }

    @Test
    @Checks({"SW-withdrawn", "SW-release"})
    void theSwitchsUnbindAbortsPendingReceivesOnSwitchThreadsNotTheFrameworkThread() throws Exception {
        Watched receive = Watched.of(socket.receive(ByteBuffer.allocate(8)));
        awaitHeld(PostedOperation.Kind.RECV);

        onThread("framework-stop", () -> sw.unbindProvider(engine));

        assertEquals(WsaError.WSA_OPERATION_ABORTED, errorOf(receive.stage()));
        assertTrue(receive.threadName().startsWith(SWITCH_THREAD), receive.threadName());
        assertTrue(!engine.isRunning(), "the switch's cleanup was the final one");
    }
}
