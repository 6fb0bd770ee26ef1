package io.sanswitch.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Iterator;
import java.util.List;

import org.junit.jupiter.api.Test;

class JitQuietTest {
    /** Readings of the compilation time, one per window (the first is the start). */
    private static JitQuiet.Outcome over(Long... readings) throws InterruptedException {
        Iterator<Long> it = List.of(readings).iterator();
        return JitQuiet.await(it::next, millis -> assertEquals(JitQuiet.WINDOW_MILLIS, millis), 2000);
    }

    @Test
    void quietAfterTwoWindowsInARowWithoutCompiling() throws InterruptedException {
        assertEquals(new JitQuiet.Outcome(true, 1200), over(100L, 180L, 250L, 251L, 300L, 301L, 303L));
    }

    @Test
    void aCompilingWindowStartsTheCountAgain() throws InterruptedException {
        assertEquals(new JitQuiet.Outcome(true, 800), over(0L, 1L, 40L, 41L, 42L));
    }

    @Test
    void givesUpAtTheBoundAndSaysSo() throws InterruptedException {
        Long[] busy = new Long[12];
        for (int i = 0; i < busy.length; i++) {
            busy[i] = 10L * i;
        }
        assertEquals(new JitQuiet.Outcome(false, 2000), over(busy));
    }
}
