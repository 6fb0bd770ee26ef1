package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.testing.Checks;
import io.sanswitch.transport.TransportCapabilities;

/**
 * Which socket options the engine answers and which it hands to the backend (docs/rules.md NS-options).
 * The scripted backend keeps whatever it is given, so anything the engine lets through shows in it.
 */
@Timeout(30)
class SocketOptionsTest extends EngineTestSupport {
    private static final int[] SIZES = {Winsock.SO_MAX_MSG_SIZE, Winsock.SO_MAX_RDMA_SIZE, Winsock.SO_RDMA_THRESHOLD_SIZE};

    private ScriptedTransport.ScriptedSocket backendOf(SocketHandle s) throws Exception {
        return (ScriptedTransport.ScriptedSocket) engine.socketFor(s).transport();
    }

    private void restartOn(TransportCapabilities capabilities) throws Exception {
        transport = new ScriptedTransport(capabilities);
        upcalls = new RecordingSwitch(transport);
        engine = newEngine(transport);
        startup();
    }

    /** The answer SanServiceProvider.getSockOpt documents for a size declared with 0 for "no limit". */
    private static int documented(int declared) {
        return declared == 0 ? Integer.MAX_VALUE : declared;
    }

    @Test
    @Checks("NS-options")
    void theSizesComeFromTheCapabilitiesNotFromTheBackendsSocket() throws Exception {
        for (TransportCapabilities c : new TransportCapabilities[] {
                new TransportCapabilities(true, false, 0, 0, 4096),
                new TransportCapabilities(true, true, 1 << 20, 1 << 24, 64 * 1024)}) {
            restartOn(c);
            SocketHandle s = connectedSocket();
            // What the backend's socket would answer must not matter.
            for (int size : SIZES) {
                backendOf(s).setOption(Winsock.SOL_SOCKET, size, 3);
            }
            assertEquals(documented(c.maxMessageSize()), engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_MAX_MSG_SIZE), c.toString());
            assertEquals(documented(c.maxRdmaSize()), engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_MAX_RDMA_SIZE), c.toString());
            assertEquals(c.rdmaThresholdSize(), engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_RDMA_THRESHOLD_SIZE), c.toString());
            engine.cleanup();
        }
    }

    @Test
    @Checks("NS-options")
    void settingASizeIsWsaENoProtoOptAndNeverReachesTheBackend() throws Exception {
        for (TransportCapabilities c : new TransportCapabilities[] {
                new TransportCapabilities(true, true, 0, 1 << 24, 64 * 1024), TransportCapabilities.streamOnly()}) {
            restartOn(c);
            SocketHandle s = connectedSocket();
            for (int size : SIZES) {
                String what = "0x" + Integer.toHexString(size) + " on " + c;
                assertWsa(WsaError.WSAENOPROTOOPT, () -> engine.setSockOpt(s, Winsock.SOL_SOCKET, size, 1));
                assertNull(backendOf(s).options.get(((long) Winsock.SOL_SOCKET << 32) | size),
                        "the backend was handed " + what);
            }
            assertEquals(documented(c.maxMessageSize()), engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_MAX_MSG_SIZE));
            if (!c.rdma()) {
                // Without RDMA the RDMA sizes are no option at all.
                assertWsa(WsaError.WSAENOPROTOOPT, () -> engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_MAX_RDMA_SIZE));
                assertWsa(WsaError.WSAENOPROTOOPT, () -> engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_RDMA_THRESHOLD_SIZE));
            }
            engine.cleanup();
        }
    }

    @Test
    @Checks("NS-options")
    void everyOtherOptionIsTheBackendsAndItsAnswerOrRefusalPassesThrough() throws Exception {
        startup();
        SocketHandle s = connectedSocket();
        engine.setSockOpt(s, Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY, 0);
        assertEquals(0, backendOf(s).getOption(Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY), "the backend holds the set");
        backendOf(s).setOption(Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY, 1);
        assertEquals(1, engine.getSockOpt(s, Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY), "the get is the backend's answer");
        // SO_DEBUG has TCP_NODELAY's number at another level: the level goes along.
        assertWsa(WsaError.WSAENOPROTOOPT, () -> engine.getSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_DEBUG));
        transport.fail(ScriptedTransport.Primitive.SET_OPTION, WsaError.WSAENETRESET);
        assertWsa(WsaError.WSAENETRESET, () -> engine.setSockOpt(s, Winsock.SOL_SOCKET, Winsock.SO_DEBUG, 1));
    }
}
