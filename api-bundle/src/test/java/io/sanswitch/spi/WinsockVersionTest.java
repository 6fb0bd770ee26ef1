package io.sanswitch.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sanswitch.testing.Checks;
import org.junit.jupiter.api.Test;

class WinsockVersionTest {

    @Test
    void versionWordHasMajorInTheLowByteAndMinorInTheHighByte() {
        assertEquals(new WinsockVersion(2, 2), WinsockVersion.fromWord(0x0202));
        assertEquals(new WinsockVersion(2, 1), WinsockVersion.fromWord(0x0102));
        assertEquals(new WinsockVersion(1, 1), WinsockVersion.fromWord(0x0101));
        assertEquals(0x0102, new WinsockVersion(2, 1).toWord());
    }

    @Test
    @Checks("ST-version")
    void versionsCompareAsMajorMinorPairsNeverAsWords() {
        WinsockVersion v30 = WinsockVersion.fromWord(0x0003);
        assertTrue(0x0003 < 0x0202);
        assertTrue(v30.compareTo(WinsockVersion.V2_2) > 0, "3.0 is newer than 2.2");
        assertTrue(WinsockVersion.fromWord(0x0102).isBelow(WinsockVersion.V2_2));
        assertTrue(new WinsockVersion(1, 9).isBelow(new WinsockVersion(2, 0)));
    }

    @Test
    void outOfRangeWordsAndPartsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> WinsockVersion.fromWord(0x10000));
        assertThrows(IllegalArgumentException.class, () -> new WinsockVersion(256, 0));
    }
}
