package io.sanswitch.config;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Reads the raw properties of one PID, property by property, each against its rule.
 *
 * <p>Declarative Services would coerce the values into a configuration annotation instead, and
 * throw from the accessor for a value such as {@code "abc"} for an int: out of {@code modified},
 * or so that the component never activates. Here a value that breaks its rule becomes one line for
 * {@code complaints} (PID, property, value, what is allowed, what is used instead) and the caller's
 * last good value is used; an absent property takes its default. Nothing is thrown.
 *
 * <p>Values may come typed (ConfigAdmin's API, {@code .config} files) or as strings ({@code .cfg}
 * files): {@code 5}, {@code 5L} and {@code "5"} are the same int; a list of one element stands for
 * that element.
 */
public final class ConfigReader {
    /** How much of a refused value a complaint shows: a log line, not a copy of any input. */
    private static final int SHOWN = 80;

    private final String pid;
    private final Map<String, ?> properties;
    private final Consumer<String> complaints;

    /**
     * @param properties the configuration (may be {@code null}: every property takes its default)
     * @param complaints receives one line per refused value, typically a logger's warn
     */
    public ConfigReader(String pid, Map<String, ?> properties, Consumer<String> complaints) {
        this.pid = pid;
        this.properties = properties == null ? Map.of() : properties;
        this.complaints = complaints;
    }

    /** A whole number from {@code min} to {@code max}. */
    public int integer(String name, int min, int max, int defaultValue, int lastGood) {
        Object raw = properties.get(name);
        if (raw == null) {
            return defaultValue;
        }
        String allowed = "a whole number from " + min + " to " + max;
        Object v = single(raw);
        Long n = v == null ? null : wholeNumber(v);
        if (n == null || n < min || n > max) {
            refuse(name, raw, allowed, lastGood);
            return lastGood;
        }
        return n.intValue();
    }

    /** {@code true} or {@code false} (any case). */
    public boolean bool(String name, boolean defaultValue, boolean lastGood) {
        Object raw = properties.get(name);
        if (raw == null) {
            return defaultValue;
        }
        Object v = single(raw);
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s && (s.strip().equalsIgnoreCase("true") || s.strip().equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(s.strip());
        }
        refuse(name, raw, "true or false", lastGood);
        return lastGood;
    }

    /** One of the constants of {@code type}, by name in any case. */
    public <E extends Enum<E>> E choice(String name, Class<E> type, E defaultValue, E lastGood) {
        Object raw = properties.get(name);
        if (raw == null) {
            return defaultValue;
        }
        Object v = single(raw);
        if (v != null) {
            String wanted = String.valueOf(v).strip().toUpperCase(Locale.ROOT);
            for (E e : type.getEnumConstants()) {
                if (e.name().equals(wanted)) {
                    return e;
                }
            }
        }
        refuse(name, raw, "one of " + Arrays.toString(type.getEnumConstants()), lastGood);
        return lastGood;
    }

    /**
     * A text, stripped of surrounding white space, that {@code rule} accepts.
     *
     * @param allowed what {@code rule} accepts, in words, for the complaint
     */
    public String text(String name, Predicate<String> rule, String allowed, String defaultValue, String lastGood) {
        Object raw = properties.get(name);
        if (raw == null) {
            return defaultValue;
        }
        Object v = single(raw);
        String s = v == null ? null : String.valueOf(v).strip();
        if (s == null || !rule.test(s)) {
            refuse(name, raw, allowed, "'" + lastGood + "'");
            return lastGood;
        }
        return s;
    }

    /**
     * A secret, stripped: empty, or at least {@code minLength} characters. A complaint never shows
     * it, nor the value used instead.
     */
    public String secret(String name, int minLength, String defaultValue, String lastGood) {
        Object raw = properties.get(name);
        if (raw == null) {
            return defaultValue;
        }
        Object v = single(raw);
        String using = lastGood.isEmpty() ? "none" : "the previous one (hidden)";
        if (!(v instanceof String s)) {
            complaints.accept(pid + ": " + name + " (value hidden) is not one text; using " + using);
            return lastGood;
        }
        String key = s.strip();
        if (!key.isEmpty() && key.length() < minLength) {
            complaints.accept(pid + ": " + name + " (value hidden) has " + key.length() + " characters, at least "
                    + minLength + " are needed; using " + using);
            return lastGood;
        }
        return key;
    }

    /**
     * The entries of a list property: an array or collection, a string holding entries separated
     * by commas or white space (as a {@code .cfg} file carries a list), or both. Blank entries are
     * skipped; entries past {@code maxEntries} are left out with a complaint.
     */
    public List<String> list(String name, int maxEntries) {
        Object raw = properties.get(name);
        List<String> entries = new ArrayList<>();
        if (raw == null) {
            return entries;
        }
        Collection<?> values = raw instanceof Object[] a ? Arrays.asList(a)
                : raw instanceof Collection<?> c ? c : List.of(raw);
        int dropped = 0;
        for (Object value : values) {
            if (value == null) {
                continue;
            }
            for (String part : String.valueOf(value).split("[,\\s]+")) {
                if (part.isEmpty()) {
                    continue;
                }
                if (entries.size() < maxEntries) {
                    entries.add(part);
                } else {
                    dropped++;
                }
            }
        }
        if (dropped > 0) {
            complaints.accept(pid + ": " + name + " has " + (entries.size() + dropped) + " entries, at most "
                    + maxEntries + " are allowed; the last " + dropped + " are left out");
        }
        return entries;
    }

    /** An entry of list property {@code name} refused by the caller's own rule, left out. */
    public void leaveOut(String name, String why) {
        complaints.accept(pid + ": " + name + ": entry left out: " + clean(why));
    }

    private void refuse(String name, Object raw, String allowed, Object using) {
        complaints.accept(pid + ": " + name + " = " + shown(raw) + " refused (allowed: " + allowed + "); using "
                + using);
    }

    /** The element of a one-element list, the value itself if no list, {@code null} for other lists. */
    private static Object single(Object raw) {
        if (raw instanceof Object[] a) {
            return a.length == 1 ? a[0] : null;
        }
        if (raw instanceof Collection<?> c) {
            return c.size() == 1 ? c.iterator().next() : null;
        }
        return raw;
    }

    private static Long wholeNumber(Object v) {
        try {
            if (v instanceof Number n) {
                return new BigDecimal(n.toString()).longValueExact();
            }
            if (v instanceof String s && s.strip().matches("[+-]?[0-9]{1,18}")) {
                return Long.parseLong(s.strip());
            }
        } catch (NumberFormatException | ArithmeticException e) {
            // NaN, infinite, fractional or beyond a long: no whole number
        }
        return null;
    }

    /** The value as a complaint shows it: quoted, lists bracketed, cut short, control characters escaped. */
    static String shown(Object raw) {
        String text = raw instanceof Object[] a ? Arrays.deepToString(a)
                : raw instanceof Collection<?> c ? c.toString()
                : raw instanceof String s ? "'" + s + "'" : String.valueOf(raw);
        return clean(text);
    }

    /** A line that a value cannot break into two, nor make long. */
    private static String clean(String text) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        for (; i < text.length() && b.length() < SHOWN; i++) {
            char c = text.charAt(i);
            b.append(Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        if (i < text.length()) {
            b.append("...(").append(text.length()).append(" characters)");
        }
        return b.toString();
    }
}
