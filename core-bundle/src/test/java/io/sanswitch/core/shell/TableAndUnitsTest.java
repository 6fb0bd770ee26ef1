package io.sanswitch.core.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TableAndUnitsTest {

    @Test
    void columnsAlignNumbersRightAndNullsShowAsADash() {
        String text = new Table("NAME", "COUNT>", "NOTE")
                .row("ucx", 7, "first")
                .row("tcp-fallback", 12345, null)
                .toString();
        assertEquals(""
                + "NAME          COUNT  NOTE\n"
                + "ucx               7  first\n"
                + "tcp-fallback  12345  -\n", text);
    }

    @Test
    void noLineEndsInBlanks() {
        String text = new Table("A", "B").row("x", "").row("longer", "").toString();
        for (String line : text.split("\n")) {
            assertEquals(line, line.replaceAll("\\s+$", ""), "trailing blanks in '" + line + "'");
        }
    }

    @Test
    void aRowWithTheWrongNumberOfCellsIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Table("A", "B").row("only one"));
    }

    @Test
    void bytesRatesAndDurationsUseReadableUnits() {
        assertEquals("0 B", Units.bytes(0));
        assertEquals("1023 B", Units.bytes(1023));
        assertEquals("1.0 KiB", Units.bytes(1024));
        assertEquals("1.5 MiB", Units.bytes(3 << 19));
        assertEquals("2.0 GiB", Units.bytes(2L << 30));
        assertEquals("512.0 MiB/s", Units.rate(256L << 20, 500_000_000L));
        assertEquals("-", Units.rate(1, 0));
        assertEquals("999 µs", Units.duration(999_999));
        assertEquals("9999 µs", Units.duration(9_999_999));
        assertEquals("10 ms", Units.duration(10_000_000));
        assertEquals("12.3 s", Units.duration(12_340_000_000L));
    }

    @Test
    void aChangeInBytesKeepsItsSign() {
        assertEquals("+0 B", Units.signedBytes(0));
        assertEquals("+1.5 MiB", Units.signedBytes(3 << 19));
        assertEquals("-2.0 KiB", Units.signedBytes(-2048));
        assertEquals("-8388608.0 TiB", Units.signedBytes(Long.MIN_VALUE), "no overflow into a wrong sign");
    }

    /** san:cleanup-history printed "18 ms" above "7383 µs": one unit per column now. */
    @Test
    void theDurationsOfAColumnShareOneUnit() {
        String text = new Table("WHAT", "DURATION>", "ANOTHER>")
                .row("a", new Units.Elapsed(18_200_000), new Units.Elapsed(900_000))
                .row("b", new Units.Elapsed(7_383_000), new Units.Elapsed(1_500))
                .row("c", null, new Units.Elapsed(12_000_000_000L))
                .toString();
        assertEquals(""
                + "WHAT  DURATION  ANOTHER\n"
                + "a      18.2 ms    0.0 s\n"
                + "b       7.4 ms    0.0 s\n"
                + "c            -   12.0 s\n", text);
        assertEquals("WHAT  DURATION\na       250 ms\nb        20 ms\n", new Table("WHAT", "DURATION>")
                .row("a", new Units.Elapsed(250_000_000)).row("b", new Units.Elapsed(20_400_000)).toString(),
                "whole milliseconds when each has two digits");
        assertEquals("T\n7 µs\n9999 µs\n", new Table("T").row(new Units.Elapsed(7_000))
                .row(new Units.Elapsed(9_999_999)).toString());
    }
}
