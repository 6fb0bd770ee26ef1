package io.sanswitch.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;
import io.sanswitch.spi.WsaException;

/**
 * The demo's echo server on a switch listener ({@code SocketSwitch.listen}): one thread per accepted
 * connection sends back what arrives, whichever provider carries it, across the connection's moves
 * (docs/migration.md). A connection that breaks is aborted.
 */
final class EchoServer implements AutoCloseable {
    final SwitchServerSocket listener;
    private final List<SwitchSocket> open = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    EchoServer(SwitchServerSocket listener) {
        this.listener = listener;
        acceptor = new Thread(this::acceptLoop, "sanswitch-demo-echo-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void acceptLoop() {
        while (true) {
            SwitchSocket s;
            try {
                s = listener.accept();
            } catch (WsaException closed) {
                return;
            }
            open.add(s);
            Thread echo = new Thread(() -> echo(s), "sanswitch-demo-echo-" + s.provider());
            echo.setDaemon(true);
            echo.start();
        }
    }

    private void echo(SwitchSocket s) {
        // The clients' chunk size: a smaller read split each 256 KiB ucx message into a staged receive
        // and four messages back, work a tcp byte stream does not have, so the phases compared unlike.
        byte[] buffer = new byte[Client.CHUNK];
        try (InputStream in = s.inputStream(); OutputStream out = s.outputStream()) {
            for (int n; (n = in.read(buffer)) > 0;) {
                out.write(buffer, 0, n);
            }
        } catch (IOException broken) {
            s.abort();
        } finally {
            open.remove(s);
            s.close();
        }
    }

    /** The server's ends of the connections still echoing. */
    List<SwitchSocket> accepted() {
        return List.copyOf(open);
    }

    /** Accepted connections still echoing. */
    int connections() {
        return open.size();
    }

    @Override
    public void close() throws InterruptedException {
        listener.close();
        acceptor.join(Demo.WAIT_MILLIS);
        for (SwitchSocket s : open) {
            s.abort();
        }
    }
}
