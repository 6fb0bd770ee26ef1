package io.sanswitch.core.shell;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

/**
 * A plain-text table with aligned columns, as the {@code san:*} commands print it: one header
 * row, columns separated by two spaces, numbers right-aligned, no trailing blanks, the durations of
 * a column in one unit. Plain text so
 * that it reads the same in Felix Gogo, in Karaf and in a log file.
 */
final class Table {
    private final String[] headers;
    private final boolean[] rightAligned;
    private final List<Object[]> rows = new ArrayList<>();

    /** A header ending in {@code ">"} names a right-aligned column (the marker is not printed). */
    Table(String... headers) {
        this.headers = new String[headers.length];
        this.rightAligned = new boolean[headers.length];
        for (int i = 0; i < headers.length; i++) {
            rightAligned[i] = headers[i].endsWith(">");
            this.headers[i] = rightAligned[i] ? headers[i].substring(0, headers[i].length() - 1) : headers[i];
        }
    }

    Table row(Object... cells) {
        if (cells.length != headers.length) {
            throw new IllegalArgumentException(cells.length + " cells for " + headers.length + " columns");
        }
        rows.add(cells.clone());
        return this;
    }

    int size() {
        return rows.size();
    }

    @Override
    public String toString() {
        List<String[]> rows = texts();
        int[] width = new int[headers.length];
        for (int i = 0; i < headers.length; i++) {
            width[i] = headers[i].length();
        }
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, headers, width);
        for (String[] r : rows) {
            line(sb, r, width);
        }
        return sb.toString();
    }

    /** The cells as text; the durations of a column ({@link Units.Elapsed}) all in one unit. */
    private List<String[]> texts() {
        LongFunction<String>[] durations = durationFormats();
        List<String[]> texts = new ArrayList<>(rows.size());
        for (Object[] r : rows) {
            String[] text = new String[r.length];
            for (int i = 0; i < r.length; i++) {
                Object c = r[i];
                text[i] = c == null ? "-" : c instanceof Units.Elapsed e ? durations[i].apply(e.nanos()) : c.toString();
            }
            texts.add(text);
        }
        return texts;
    }

    @SuppressWarnings("unchecked")
    private LongFunction<String>[] durationFormats() {
        LongFunction<String>[] formats = new LongFunction[headers.length];
        for (int i = 0; i < headers.length; i++) {
            long min = Long.MAX_VALUE;
            long max = Long.MIN_VALUE;
            for (Object[] r : rows) {
                if (r[i] instanceof Units.Elapsed e) {
                    min = Math.min(min, e.nanos());
                    max = Math.max(max, e.nanos());
                }
            }
            formats[i] = max == Long.MIN_VALUE ? null : Units.durationFormat(min, max);
        }
        return formats;
    }

    private void line(StringBuilder sb, String[] cells, int[] width) {
        int start = sb.length();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) {
                sb.append("  ");
            }
            int pad = width[i] - cells[i].length();
            if (rightAligned[i]) {
                sb.append(" ".repeat(pad)).append(cells[i]);
            } else {
                sb.append(cells[i]).append(" ".repeat(pad));
            }
        }
        int end = sb.length();
        while (end > start && sb.charAt(end - 1) == ' ') {
            end--;
        }
        sb.setLength(end);
        sb.append('\n');
    }
}
