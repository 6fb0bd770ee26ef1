package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * UCX is asked for peer error handling over shared memory (MM_ERROR_HANDLING) exactly when the
 * configured transports ({@code UCX_TLS} syntax) can include posix or sysv: otherwise UCX warns of
 * an invalid configuration at every startup.
 */
class SharedMemorySettingTest {

    @ParameterizedTest(name = "UCX_TLS=''{0}'' -> {1}")
    @CsvSource(value = {"'', true", "tcp, false", "'sm,tcp', true", "'tcp,cma', false", "^tcp, true",
            "'\\posix,tcp', true", "sysv, true", "all, true", "'tcp, self', false"})
    void sharedMemoryIsAskedForOnlyWhereUcxMayUseIt(String transports, boolean expected) {
        assertEquals(expected, UcxTransport.usesSharedMemory(transports));
    }
}
