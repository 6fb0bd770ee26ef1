package io.sanswitch.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * The one rule for configuration values: a bad value is one line naming PID, property, value and
 * what is allowed, and the last good value stays; an absent one takes the default; nothing throws.
 */
class ConfigReaderTest {
    private final List<String> lines = new ArrayList<>();

    private ConfigReader reader(Object... keyValues) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return new ConfigReader("io.sanswitch.test", m, lines::add);
    }

    private void assertOneLine(String... parts) {
        assertEquals(1, lines.size(), lines.toString());
        for (String p : parts) {
            assertTrue(lines.get(0).contains(p), "'" + p + "' in: " + lines.get(0));
        }
        lines.clear();
    }

    @Test
    void wholeNumbersComeTypedOrAsTextAndAbsentOnesTakeTheDefault() {
        ConfigReader r = reader("a", 7, "b", 7L, "c", " 7 ", "d", new String[] {"7"}, "e", List.of(7), "f", 7.0, "g", "+7");
        for (String name : List.of("a", "b", "c", "d", "e", "f", "g")) {
            assertEquals(7, r.integer(name, 1, 10, 1, 2), name);
        }
        assertEquals(1, r.integer("absent", 1, 10, 1, 2));
        assertEquals(List.of(), lines);
    }

    @Test
    void aBadWholeNumberIsOneLineAndTheLastGoodValueStays() {
        Object[] bad = {"abc", "", "1.5", 1.5, "0x10", "99999999999999999999", 0, 11, -3, "11", Double.NaN,
            Boolean.TRUE, new String[] {"3", "4"}, new String[0], "7\n[WARN] forged"};
        for (Object v : bad) {
            assertEquals(5, reader("p", v).integer("p", 1, 10, 1, 5), String.valueOf(v));
            assertOneLine("io.sanswitch.test", "p = ", "a whole number from 1 to 10", "using 5");
        }
        reader("p", "abc").integer("p", 1, 10, 1, 5);
        assertOneLine("p = 'abc' refused");
        reader("p", "7\n[WARN] forged").integer("p", 1, 10, 1, 5);
        assertOneLine("'7\\u000a[WARN] forged'");
    }

    @Test
    void aHugeValueIsShownCutShort() {
        reader("p", "9".repeat(100_000)).integer("p", 1, 10, 1, 5);
        assertEquals(1, lines.size());
        assertTrue(lines.get(0).length() < 300, lines.get(0));
        assertTrue(lines.get(0).contains("(100002 characters)"), lines.get(0));
    }

    @Test
    void booleansAreTrueOrFalseOnly() {
        ConfigReader r = reader("a", true, "b", "FALSE", "c", " true ", "d", "yes", "e", 1);
        assertTrue(r.bool("a", false, false));
        assertFalse(r.bool("b", true, true));
        assertTrue(r.bool("c", false, false));
        assertTrue(r.bool("absent", true, false));
        assertEquals(List.of(), lines);
        assertFalse(r.bool("d", true, false));
        assertOneLine("d = 'yes'", "true or false", "using false");
        assertTrue(r.bool("e", false, true));
        assertOneLine("e = 1", "true or false", "using true");
    }

    enum Flow { AUTO, WRITE }

    @Test
    void choicesAreTheConstantsInAnyCase() {
        ConfigReader r = reader("a", " write ", "b", "fast", "c", Flow.AUTO);
        assertEquals(Flow.WRITE, r.choice("a", Flow.class, Flow.AUTO, Flow.AUTO));
        assertEquals(Flow.AUTO, r.choice("c", Flow.class, Flow.WRITE, Flow.WRITE));
        assertEquals(Flow.WRITE, r.choice("absent", Flow.class, Flow.WRITE, Flow.AUTO));
        assertEquals(List.of(), lines);
        assertEquals(Flow.WRITE, r.choice("b", Flow.class, Flow.AUTO, Flow.WRITE));
        assertOneLine("b = 'fast'", "one of [AUTO, WRITE]", "using WRITE");
    }

    @Test
    void textsAreStrippedAndCheckedByTheCallersRule() {
        ConfigReader r = reader("a", " ucx ", "b", "  ", "c", new String[] {"x", "y"});
        assertEquals("ucx", r.text("a", s -> !s.isEmpty(), "a name", "d", "g"));
        assertEquals("d", r.text("absent", s -> !s.isEmpty(), "a name", "d", "g"));
        assertEquals("g", r.text("b", s -> !s.isEmpty(), "a name", "d", "g"));
        assertOneLine("b = '  '", "allowed: a name", "using 'g'");
        assertEquals("g", r.text("c", s -> true, "anything", "d", "g"));
        assertOneLine("c = [x, y]");
    }

    @Test
    void aSecretIsNeverShownNorTheValueUsedInstead() {
        String shortKey = "short-secret";
        String goodKey = "0123456789abcdef";
        ConfigReader r = reader("k", "  " + shortKey + "  ", "g", " " + goodKey + " ", "e", "   ", "n", 12345);
        assertEquals(goodKey, r.secret("g", 16, "", "previous-secret-value"));
        assertEquals("", r.secret("e", 16, "", "previous-secret-value"));
        assertEquals("", r.secret("absent", 16, "", "previous-secret-value"));
        assertEquals(List.of(), lines);
        assertEquals("previous-secret-value", r.secret("k", 16, "", "previous-secret-value"));
        assertOneLine("io.sanswitch.test: k (value hidden) has " + shortKey.length()
                + " characters, at least 16 are needed", "previous one (hidden)");
        assertEquals("", r.secret("k", 16, "", ""));
        assertFalse(lines.get(0).contains(shortKey), lines.get(0));
        assertOneLine("using none");
        assertEquals("", r.secret("n", 16, "", ""));
        assertFalse(lines.get(0).contains("12345"), lines.get(0));
        assertOneLine("n (value hidden)");
    }

    @Test
    void listsComeAsArraysCollectionsOrSeparatedTextAndAreBounded() {
        ConfigReader r = reader("a", new String[] {"x, y", null, " ", "z"}, "b", List.of("x y"), "c", "x,y z",
                "d", "1 2 3 4 5");
        assertEquals(List.of("x", "y", "z"), r.list("a", 10));
        assertEquals(List.of("x", "y"), r.list("b", 10));
        assertEquals(List.of("x", "y", "z"), r.list("c", 10));
        assertEquals(List.of(), r.list("absent", 10));
        assertEquals(List.of(), lines);
        assertEquals(List.of("1", "2", "3"), r.list("d", 3));
        assertOneLine("d has 5 entries, at most 3", "last 2 are left out");
        r.leaveOut("c", "'q' is no subnet");
        assertOneLine("io.sanswitch.test: c: entry left out: 'q' is no subnet");
    }

    @Test
    void noPropertiesAtAllIsEveryDefault() {
        ConfigReader r = new ConfigReader("io.sanswitch.test", null, lines::add);
        assertEquals(3, r.integer("p", 1, 10, 3, 4));
        assertEquals(List.of(), r.list("l", 1));
        assertEquals(TimeUnit.SECONDS, r.choice("u", TimeUnit.class, TimeUnit.SECONDS, TimeUnit.DAYS));
        assertEquals(List.of(), lines);
    }
}
