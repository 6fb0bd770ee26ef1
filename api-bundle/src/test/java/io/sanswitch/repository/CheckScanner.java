package io.sanswitch.repository;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds every {@code @Checks} in the repository's test sources (and the conformance kit's suites) and
 * places each in the matrix column its module says: core-bundle's switch tests are "switch", the rest
 * of core-bundle and api-bundle "engine" (the scripted transport), tcp-fallback-bundle "tcp",
 * rdma-bundle "ucx", itests and the launcher "Felix", karaf-itests "Karaf". A kit suite counts in the
 * column of every module with a subclass of it: the kit runs on each real backend.
 */
final class CheckScanner {
    enum Column {
        ENGINE("engine"), TCP("tcp"), UCX("ucx"), SWITCH("switch"), FELIX("Felix"), KARAF("Karaf");

        final String title;

        Column(String title) {
            this.title = title;
        }
    }

    /** One test method and the rules it names. */
    record Check(String test, Column column, List<String> ids, Path source) {
    }

    private static final Pattern CHECKS = Pattern.compile("(?m)^\\s*@(?:io\\.sanswitch\\.testing\\.)?Checks\\(\\s*(\\{[^}]*\\}|\"[^\"]*\")\\s*\\)");
    private static final Pattern STRING = Pattern.compile("\"([^\"]*)\"");
    private static final Pattern METHOD = Pattern.compile("\\bvoid\\s+(\\w+)\\s*\\(");
    /** The top-level declaration: at the start of a line, so "class" in a comment is not taken for it. */
    private static final Pattern CLASS = Pattern.compile(
            "(?m)^(?:public |final |abstract )*(?:class|interface)\\s+(\\w+)(?:<[^>]*>)?(?:\\s+extends\\s+(\\w+))?");
    private static final String KIT = "conformance-kit/src/main/java/";

    private CheckScanner() {
    }

    static List<Check> scan(Path root) {
        List<Path> sources = Repository.files(root, ".java");
        Map<String, List<Column>> kitRunners = new LinkedHashMap<>();
        for (Path file : sources) {
            String rel = root.relativize(file).toString().replace('\\', '/');
            Column column = column(rel);
            if (column == null || !rel.contains("/src/test/java/")) {
                continue;
            }
            Matcher c = CLASS.matcher(Repository.read(file));
            if (c.find() && c.group(2) != null) {
                kitRunners.computeIfAbsent(c.group(2), k -> new ArrayList<>()).add(column);
            }
        }
        List<Check> checks = new ArrayList<>();
        for (Path file : sources) {
            String rel = root.relativize(file).toString().replace('\\', '/');
            String text = Repository.read(file);
            if (!text.contains("Checks(")) {
                continue;
            }
            Matcher c = CLASS.matcher(text);
            String className = c.find() ? c.group(1) : file.getFileName().toString();
            List<Column> columns;
            if (rel.startsWith(KIT)) {
                columns = kitRunners.getOrDefault(className, List.of());
            } else if (rel.contains("/src/test/java/") && column(rel) != null) {
                columns = List.of(column(rel));
            } else {
                continue;
            }
            Matcher m = CHECKS.matcher(text);
            while (m.find()) {
                List<String> ids = new ArrayList<>();
                Matcher s = STRING.matcher(m.group(1));
                while (s.find()) {
                    ids.add(s.group(1));
                }
                Matcher method = METHOD.matcher(text);
                String test = className + "." + (method.find(m.end()) ? method.group(1) : "?");
                for (Column col : columns) {
                    checks.add(new Check(test, col, List.copyOf(ids), root.relativize(file)));
                }
            }
        }
        return checks;
    }

    /** The column of a source file by its module (and, in core-bundle, by whether it tests the switch). */
    static Column column(String rel) {
        String module = rel.substring(0, rel.indexOf('/') < 0 ? 0 : rel.indexOf('/'));
        String name = rel.substring(rel.lastIndexOf('/') + 1);
        switch (module) {
            case "api-bundle":
                return Column.ENGINE;
            case "core-bundle":
                return rel.contains("/switcher/") || name.startsWith("Switch") ? Column.SWITCH : Column.ENGINE;
            case "tcp-fallback-bundle":
                return Column.TCP;
            case "rdma-bundle":
                return Column.UCX;
            case "benchmarks":
                // Only the move's tests (docs/migration.md section 4), there because they need UCX and the
                // NIO provider side by side; the benchmarks' own smoke tests check no rule.
                return rel.contains("/io/sanswitch/rdma/") ? Column.UCX : null;
            case "itests":
            case "launcher":
                return Column.FELIX;
            case "karaf-itests":
                return Column.KARAF;
            case "conformance-kit":
                return Column.ENGINE; // only its runners' columns count; see scan
            default:
                return null;
        }
    }
}
