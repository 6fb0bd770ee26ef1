package io.sanswitch.rdma;

import io.sanswitch.spi.WsaError;

/** UCX status codes (ucs_status_t) as the SPI's errors. */
final class UcxStatus {
    static final int CANCELED = -16;
    static final int CONNECTION_RESET = -25;

    private UcxStatus() {
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
