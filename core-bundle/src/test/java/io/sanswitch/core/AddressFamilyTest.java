package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.testing.Checks;

/** Which address families reach the backend (docs/rules.md NS-ipv6). */
@Timeout(30)
class AddressFamilyTest extends EngineTestSupport {

    @BeforeEach
    void start() throws Exception {
        startup();
    }

    @Test
    @Checks("NS-ipv6")
    void ipv4AndIpv6GoToTheBackendWhoseRefusalPassesThroughUnchanged() throws Exception {
        engine.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        engine.socket(Winsock.AF_INET6, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0);
        assertEquals(2, transport.liveSockets.get(), "the backend made both sockets");
        // A backend without IPv6 refuses the family itself.
        transport.fail(ScriptedTransport.Primitive.NEW_SOCKET, WsaError.WSAEAFNOSUPPORT);
        assertWsa(WsaError.WSAEAFNOSUPPORT,
                () -> engine.socket(Winsock.AF_INET6, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0));
        assertEquals(2, engine.openSockets(), "the refused socket is not in the table");
    }

    @Test
    @Checks("NS-ipv6")
    void aFamilyTheSpiDoesNotNameIsWsaEAfNoSupportBeforeTheBackendIsAsked() throws Exception {
        // The backend would fail with another code: the engine must answer first.
        transport.fail(ScriptedTransport.Primitive.NEW_SOCKET, WsaError.WSAENOBUFS);
        for (int family : new int[] {0, 10, Winsock.AF_INET6 + 1, -1}) {
            assertWsa(WsaError.WSAEAFNOSUPPORT,
                    () -> engine.socket(family, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, null, 0));
        }
        assertEquals(0, transport.liveSockets.get());
    }
}
