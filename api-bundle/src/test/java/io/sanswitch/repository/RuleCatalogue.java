package io.sanswitch.repository;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The rules of {@code docs/rules.md}: every row of a table whose header starts {@code | id | rule |}.
 * A row whose last cell says {@code gap: <reason>} is a known gap (no test yet, or not kept on purpose).
 */
record RuleCatalogue(List<Rule> rules) {
    /** A rule id: a family of capitals, a dash, then letters, digits and dashes (LC-b, ERR-send, SW-join). */
    static final Pattern ID = Pattern.compile("[A-Z]{2,3}-[A-Za-z0-9-]+");
    private static final Pattern GAP = Pattern.compile("gap:\\s*(.+?)\\s*$");

    record Rule(String id, String section, String text, String gap) {
        boolean markedGap() {
            return gap != null;
        }
    }

    static RuleCatalogue parse(String markdown) {
        List<Rule> rules = new ArrayList<>();
        boolean inRuleTable = false;
        String section = "";
        for (String line : markdown.split("\n")) {
            if (line.startsWith("## ")) {
                section = line.substring(3).strip();
                inRuleTable = false;
                continue;
            }
            if (!line.startsWith("|")) {
                inRuleTable = false;
                continue;
            }
            String[] cells = cells(line);
            if (cells.length >= 2 && cells[0].equals("id") && cells[1].equals("rule")) {
                inRuleTable = true;
                continue;
            }
            if (!inRuleTable || !ID.matcher(cells[0]).matches()) {
                continue;
            }
            Matcher gap = GAP.matcher(cells[cells.length - 1]);
            rules.add(new Rule(cells[0], section, cells[1], gap.find() ? gap.group(1) : null));
        }
        return new RuleCatalogue(List.copyOf(rules));
    }

    private static String[] cells(String row) {
        String inner = row.strip();
        inner = inner.substring(1, inner.endsWith("|") ? inner.length() - 1 : inner.length());
        String[] cells = inner.split("\\|", -1);
        for (int i = 0; i < cells.length; i++) {
            cells[i] = cells[i].strip();
        }
        return cells;
    }

    boolean has(String id) {
        return rules.stream().anyMatch(r -> r.id().equals(id));
    }
}
