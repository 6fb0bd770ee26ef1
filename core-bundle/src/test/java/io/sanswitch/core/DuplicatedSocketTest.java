package io.sanswitch.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sanswitch.testing.Checks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.spi.ProtocolInfo;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;

/**
 * docs/rules.md NS-duplicate as the engine keeps it: the one trace of duplication the SPI has, a
 * protocol info that carries a duplicated socket's value in {@code providerReserved}, is refused
 * with {@code WSAEINVAL}, and no socket or switch handle is made for it.
 */
@Timeout(30)
class DuplicatedSocketTest extends EngineTestSupport {

    @Test
    @Checks("NS-duplicate")
    void aSocketCallForADuplicatedSocketIsWsaEInvalAndMakesNoSocket() throws Exception {
        startup();
        ProtocolInfo duplicated = new ProtocolInfo(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, 0x5A17L);
        assertWsa(WsaError.WSAEINVAL,
                () -> engine.socket(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, duplicated, 0));
        assertEquals(0, engine.openSockets());
        assertEquals(0, transport.sockets.size(), "no backend socket made");
        assertEquals(0, transport.journal("createSocketHandle").size(), "no switch handle asked for");
        // The same call without the duplicated value works: the refusal is about duplication only.
        newSocket();
        assertEquals(1, engine.openSockets());
    }
}
