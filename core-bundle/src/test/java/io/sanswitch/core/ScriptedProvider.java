package io.sanswitch.core;

import java.net.InetSocketAddress;

import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.WsaException;
import io.sanswitch.transport.TransportCapabilities;

/**
 * An engine over a scripted backend, driven from tests outside this package (the shell commands'
 * tests): the few steps they need, with real engine figures behind them.
 */
public final class ScriptedProvider extends EngineTestSupport {

    public ScriptedProvider(String name) {
        this(name, new TransportCapabilities(true, false, 0, 1 << 24, 64 * 1024));
    }

    private ScriptedProvider(String name, TransportCapabilities capabilities) {
        transport = new ScriptedTransport(name, capabilities);
        upcalls = new RecordingSwitch(transport);
        engine = newEngine(transport);
    }

    /** A provider without RDMA, as the switch takes a TCP provider (its resume port listens over one). */
    public static ScriptedProvider streamOnly(String name) {
        return new ScriptedProvider(name, TransportCapabilities.streamOnly());
    }

    public ProviderEngine engine() {
        return engine;
    }

    public void start() throws WsaException {
        startup();
    }

    /** A socket connected at once to {@code 127.0.0.1:7001} from a local bind to port 7000. */
    public SocketHandle connected() throws WsaException {
        return connectedSocket();
    }

    public Overlapped receive(SocketHandle s) throws WsaException {
        return postRecv(s, Overlapped.Mode.NOTIFY);
    }

    /** The backend reports the oldest held operation of any socket done with {@code bytes}. */
    public boolean completeOldest(long bytes) {
        for (ScriptedTransport.ScriptedSocket s : transport.sockets) {
            if (s.completeOldest(bytes)) {
                return true;
            }
        }
        return false;
    }

    /** A listener with a connection request from {@code peer} queued and accepted. */
    public SocketHandle accepted(InetSocketAddress peer) throws WsaException {
        SocketHandle listener = newSocket();
        engine.bind(listener, LOCAL);
        engine.listen(listener, 4);
        ScriptedTransport.ScriptedSocket backend = transport.sockets.get(transport.sockets.size() - 1);
        backend.arrive(peer);
        return engine.accept(listener, (p, data, cb) -> io.sanswitch.spi.ConditionDecision.CF_ACCEPT, 0).socket();
    }

    /** Makes the backend report a failed network subsystem, as when the interface goes away. */
    public void failNetwork() {
        transport.networkFailed = true;
    }

    public void crashBackend() {
        transport.crash = true;
    }
}
