package io.sanswitch.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class OverlappedTest {

    @Test
    void aResultIsPublishedOnceAndASecondCompletionIsABug() {
        Overlapped ov = Overlapped.notifying("ctx");
        assertTrue(ov.begin());
        assertFalse(ov.begin(), "still in progress");
        ov.publish(OverlappedResult.success(7));
        assertEquals(7, ov.result().bytesTransferred());
        assertThrows(IllegalStateException.class, () -> ov.publish(OverlappedResult.success(1)));
    }

    @Test
    void aCompletedOverlappedCanCarryANewRequestAndWaitersSeeTheNewOne() throws Exception {
        Overlapped ov = Overlapped.polling(null);
        assertTrue(ov.begin());
        ov.publish(OverlappedResult.failure(WsaError.WSA_OPERATION_ABORTED, 0));
        assertTrue(ov.begin());
        assertNull(ov.result());
        assertNull(ov.awaitResult(10, TimeUnit.MILLISECONDS), "the old result is not seen for the new request");
        ov.publish(OverlappedResult.success(3));
        assertEquals(3, ov.awaitResult(1, TimeUnit.SECONDS).bytesTransferred());
    }

    @Test
    void anAbandonedRequestFreesTheOverlapped() {
        Overlapped ov = Overlapped.polling(null);
        assertTrue(ov.begin());
        ov.abandon();
        assertFalse(ov.isInProgress());
        assertFalse(ov.isDone());
        assertThrows(IllegalStateException.class, ov::abandon);
    }
}
