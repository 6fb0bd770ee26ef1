package io.sanswitch.core;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.spi.SpiCall;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;

/**
 * Holds every failure to its call's list (the error lists of docs/rules.md): an error the call may not report, or an
 * unexpected exception from a backend, becomes the call's fallback error, logged with its cause.
 */
final class ErrorPolicy {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorPolicy.class);

    private ErrorPolicy() {
    }

    static WsaException hold(SpiCall call, WsaException e) {
        if (call.allows(e.error())) {
            return e;
        }
        LOG.warn("{} may not fail with {}; reporting {} instead", call, e.error(), call.fallback(), e);
        return new WsaException(call.fallback(), call + " failed (was " + e.error() + ")", e);
    }

    static WsaException unexpected(SpiCall call, RuntimeException e) {
        LOG.error("{} failed unexpectedly; reporting {}", call, call.fallback(), e);
        return new WsaException(call.fallback(), call + " failed unexpectedly: " + e, e);
    }

    /** A completion status held to {@link SpiCall#COMPLETION}. */
    static WsaError completionStatus(WsaError reported) {
        if (reported != null && SpiCall.COMPLETION.allows(reported)) {
            return reported;
        }
        LOG.warn("a transfer may not complete with {}; completing it with {}", reported, SpiCall.COMPLETION.fallback());
        return SpiCall.COMPLETION.fallback();
    }
}
