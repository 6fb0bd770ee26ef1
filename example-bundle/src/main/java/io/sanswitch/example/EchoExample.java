package io.sanswitch.example;

// tag::example[]
import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;

/**
 * Listens and connects through the switch on loopback, echoes one message over the blocking streams
 * and one over the asynchronous calls, and closes. Blocking calls run on the component's own thread
 * only; the stages' continuations just start the next call, since they may run on a provider's thread.
 */
@Component(service = EchoExample.class, immediate = true)
public class EchoExample {
    /** What went through the echo, and over which provider. */
    public record Echoed(String provider, String overStreams, String overStages) {
    }

    private final CompletableFuture<Echoed> outcome = new CompletableFuture<>();

    @Reference
    private SocketSwitch socketSwitch;

    private SwitchServerSocket listener;
    private Thread worker;

    @Activate
    void activate() throws Exception {
        listener = socketSwitch.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        worker = new Thread(this::run, "echo-example");
        worker.start();
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        listener.close(); // ends a waiting accept
        worker.interrupt(); // ends a blocking read or wait
        worker.join();
    }

    /** Completes once both echoes went through and both ends are closed. */
    public CompletionStage<Echoed> outcome() {
        return outcome.minimalCompletionStage();
    }

    @SuppressWarnings("try") // the client closes before the block ends: its end of stream ends the echo
    private void run() {
        Echoed result;
        try (SwitchSocket client = socketSwitch.connect(listener.localAddress());
                SwitchSocket server = listener.accept()) {
            CompletionStage<Void> echoed = echo(server, ByteBuffer.allocate(1024));
            String overStreams = echoWithStreams(client, "hello over the streams");
            String overStages = echoWithStages(client, "hello over the stages").toCompletableFuture().get(10, SECONDS);
            client.close(); // graceful: the server side reads the end of the stream after the last byte
            echoed.toCompletableFuture().get(10, SECONDS);
            result = new Echoed(client.provider(), overStreams, overStages);
        } catch (Exception e) {
            outcome.completeExceptionally(e);
            return;
        }
        outcome.complete(result); // both ends closed
    }

    /** The server side: echoes until the end of the stream, each continuation only starting the next call. */
    private static CompletionStage<Void> echo(SwitchSocket socket, ByteBuffer buffer) {
        return socket.receive(buffer.clear()).thenCompose(n -> n < 0
                ? CompletableFuture.completedStage((Void) null)
                : socket.send(buffer.flip()).thenCompose(sent -> echo(socket, buffer)));
    }

    /** Blocking: on the component's own thread, never in a continuation. */
    private static String echoWithStreams(SwitchSocket socket, String text) throws IOException {
        byte[] bytes = text.getBytes(UTF_8);
        socket.outputStream().write(bytes);
        return new String(socket.inputStream().readNBytes(bytes.length), UTF_8);
    }

    private static CompletionStage<String> echoWithStages(SwitchSocket socket, String text) {
        ByteBuffer out = UTF_8.encode(text);
        ByteBuffer in = ByteBuffer.allocate(out.remaining());
        return socket.send(out)
                .thenCompose(sent -> receiveFully(socket, in))
                .thenApply(full -> UTF_8.decode(full.flip()).toString());
    }

    private static CompletionStage<ByteBuffer> receiveFully(SwitchSocket socket, ByteBuffer into) {
        return socket.receive(into).thenCompose(n -> n < 0
                ? CompletableFuture.failedStage(new EOFException("end of stream before the echo"))
                : into.hasRemaining() ? receiveFully(socket, into) : CompletableFuture.completedStage(into));
    }
}
// end::example[]
