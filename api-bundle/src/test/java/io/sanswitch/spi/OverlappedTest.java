package io.sanswitch.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.completion.OverlappedCompleter;

class OverlappedTest {
    private static final OverlappedCompleter COMPLETER = OverlappedCompleter.get();

    @Test
    void aResultIsPublishedOnceAndASecondCompletionIsABug() {
        Overlapped ov = Overlapped.notifying("ctx");
        assertTrue(COMPLETER.begin(ov));
        assertFalse(COMPLETER.begin(ov), "still in progress");
        COMPLETER.publish(ov, OverlappedResult.success(7));
        assertEquals(7, ov.result().bytesTransferred());
        assertThrows(IllegalStateException.class, () -> COMPLETER.publish(ov, OverlappedResult.success(1)));
    }

    @Test
    void aCompletedOverlappedCanCarryANewRequestAndWaitersSeeTheNewOne() throws Exception {
        Overlapped ov = Overlapped.polling(null);
        assertTrue(COMPLETER.begin(ov));
        COMPLETER.publish(ov, OverlappedResult.failure(WsaError.WSA_OPERATION_ABORTED, 0));
        assertTrue(COMPLETER.begin(ov));
        assertNull(ov.result());
        assertNull(ov.awaitResult(10, TimeUnit.MILLISECONDS), "the old result is not seen for the new request");
        COMPLETER.publish(ov, OverlappedResult.success(3));
        assertEquals(3, ov.awaitResult(1, TimeUnit.SECONDS).bytesTransferred());
    }

    @Test
    void anAbandonedRequestFreesTheOverlapped() {
        Overlapped ov = Overlapped.polling(null);
        assertTrue(COMPLETER.begin(ov));
        COMPLETER.abandon(ov);
        assertFalse(ov.isInProgress());
        assertFalse(ov.isDone());
        assertThrows(IllegalStateException.class, () -> COMPLETER.abandon(ov));
    }

    @Test
    void whoeverHoldsAnOverlappedCanOnlyReadIt() {
        List<String> completing = Arrays.stream(Overlapped.class.getMethods())
                .filter(m -> m.getDeclaringClass() == Overlapped.class)
                .map(Method::getName)
                .filter(n -> n.equals("begin") || n.equals("abandon") || n.equals("publish"))
                .toList();
        assertEquals(List.of(), completing, "the completing side is OverlappedCompleter's");
    }

    @Test
    void noOtherCompleterCanBeInstalled() {
        assertTrue(Modifier.isAbstract(OverlappedCompleter.class.getModifiers()));
        OverlappedCompleter own = new OverlappedCompleter() {
            @Override
            public boolean begin(Overlapped overlapped) {
                return true;
            }

            @Override
            public void abandon(Overlapped overlapped) {
            }

            @Override
            public void publish(Overlapped overlapped, OverlappedResult outcome) {
            }
        };
        assertThrows(IllegalStateException.class, () -> OverlappedCompleter.install(own));
        assertTrue(COMPLETER.getClass().getNestHost() == Overlapped.class, "still Overlapped's own");
        assertTrue(COMPLETER == OverlappedCompleter.get());
    }
}
