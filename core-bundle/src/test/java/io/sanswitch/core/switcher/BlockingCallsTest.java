package io.sanswitch.core.switcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/** The one way the switch's blocking connect and accept turn a failed future into their exception. */
class BlockingCallsTest {

    @Test
    void aWsaFailureKeepsItsCodeAndMessageAndCarriesItsOriginAsCause() {
        WsaException origin = new WsaException(WsaError.WSAECONNREFUSED, "refused by 127.0.0.1:7");
        WsaException thrown = BlockingCalls.failureOf(new ExecutionException(origin), "connect to 127.0.0.1:7");
        assertEquals(WsaError.WSAECONNREFUSED, thrown.error());
        assertTrue(thrown.getMessage().contains("refused by 127.0.0.1:7"), thrown.getMessage());
        assertSame(origin, thrown.getCause());
    }

    @Test
    void anyOtherFailureIsNetworkDownNamingTheCall() {
        IllegalStateException bug = new IllegalStateException("boom");
        WsaException thrown = BlockingCalls.failureOf(new ExecutionException(bug), "accept on 127.0.0.1:7");
        assertEquals(WsaError.WSAENETDOWN, thrown.error());
        assertTrue(thrown.getMessage().contains("accept on 127.0.0.1:7 failed: java.lang.IllegalStateException: boom"),
                thrown.getMessage());
        assertSame(bug, thrown.getCause());
    }
}
