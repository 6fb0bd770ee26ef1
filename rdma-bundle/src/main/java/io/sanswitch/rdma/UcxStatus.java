package io.sanswitch.rdma;

import io.sanswitch.spi.WsaError;

/** UCX status codes (ucs_status_t) as the SPI's errors. */
final class UcxStatus {
    static final int CANCELED = -16;
    static final int REJECTED = -23;
    static final int NOT_CONNECTED = -24;
    static final int CONNECTION_RESET = -25;
    static final int UNREACHABLE = -6;
    static final int INVALID_ADDR = -7;
    static final int TIMED_OUT = -20;
    static final int ENDPOINT_TIMEOUT = -80;

    private UcxStatus() {
    }

    /**
     * The outcome of a connect (docs/rules.md SW-provider-codes): only refusal, reset and a missing host stop the
     * switch's fallback to TCP; anything else is reported as a timeout, so the switch tries TCP.
     */
    static WsaError connectError(int status) {
        return switch (status) {
            case REJECTED -> WsaError.WSAECONNREFUSED;
            case CONNECTION_RESET, NOT_CONNECTED -> WsaError.WSAECONNRESET;
            case INVALID_ADDR -> WsaError.WSAEHOSTUNREACH;
            default -> WsaError.WSAETIMEDOUT;
        };
    }

    /**
     * The completion status of a transfer that failed: a cancelled request is aborted; any
     * failure of the connection (a peer's forced close arrives as a reset or an endpoint timeout)
     * is a reset, as docs/rules.md SK-peer-reset has it for a peer's teardown.
     */
    static WsaError transferError(int status) {
        return status == CANCELED ? WsaError.WSA_OPERATION_ABORTED : WsaError.WSAECONNRESET;
    }
}
