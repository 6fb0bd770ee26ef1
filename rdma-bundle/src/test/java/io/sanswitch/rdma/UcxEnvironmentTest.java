package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The test JVM runs with UCX's error-signal handlers switched off: otherwise UCX takes the
 * SIGSEGV the JVM uses for implicit null checks and ends the process (openucx/ucx#3337).
 */
class UcxEnvironmentTest {
    @Test
    void ucxErrorSignalsAreSwitchedOffForTheJvm() {
        assertEquals("", System.getenv("UCX_ERROR_SIGNALS"), "UCX_ERROR_SIGNALS must be set to an empty value");
    }
}
