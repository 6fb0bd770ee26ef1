package io.sanswitch.core.switcher;

import java.util.concurrent.ExecutionException;

import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/** How the switch's blocking calls (connect, accept) report the failure of the future they waited for. */
final class BlockingCalls {
    private BlockingCalls() {
    }

    /**
     * The failure as the blocking call throws it: a {@link WsaException} keeps its code and message and
     * gets the waiting thread's stack (the cause keeps the one where it happened); anything else, which
     * the switch never completes a future with on purpose, is {@code WSAENETDOWN} naming {@code what}.
     */
    static WsaException failureOf(ExecutionException e, String what) {
        if (e.getCause() instanceof WsaException w) {
            return new WsaException(w.error(), w.getMessage(), w);
        }
        return new WsaException(WsaError.WSAENETDOWN, what + " failed: " + e.getCause(), e.getCause());
    }
}
