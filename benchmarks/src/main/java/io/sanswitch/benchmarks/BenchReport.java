package io.sanswitch.benchmarks;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import io.sanswitch.benchmarks.SwitchBenchmark.Cost;
import io.sanswitch.benchmarks.SwitchBenchmark.Metric;
import io.sanswitch.benchmarks.SwitchBenchmark.Row;
import io.sanswitch.benchmarks.SwitchBenchmark.Series;
import io.sanswitch.benchmarks.SwitchBenchmark.Verdict;

/** {@link SwitchBenchmark}'s output: the table, the CSV, the plots and the issue's targets. */
final class BenchReport {
    static final String CSV_HEADER = "transport,layer,policy,size_bytes,metric,median,unit,cpu_s_per_gib";

    private BenchReport() {
    }

    static String size(int bytes) {
        if (bytes >= SwitchBenchmark.MIB && bytes % SwitchBenchmark.MIB == 0) {
            return bytes / SwitchBenchmark.MIB + " MiB";
        }
        if (bytes >= 1024 && bytes % 1024 == 0) {
            return bytes / 1024 + " KiB";
        }
        return bytes + " B";
    }

    /** Three significant digits or so, whatever the magnitude. */
    static String figure(double v) {
        if (!Double.isFinite(v)) {
            return "n/a";
        }
        double a = Math.abs(v);
        return String.format(Locale.ROOT, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
    }

    static void writeCsv(List<Row> rows, Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(CSV_HEADER);
        for (Row r : rows) {
            lines.add(String.format(Locale.ROOT, "%s,%s,%s,%d,%s,%.6g,%s,%.6g", r.series().transport(), r.series().layer(),
                    r.series().policy(), r.size(), r.metric().name().toLowerCase(Locale.ROOT),
                    r.value(), r.metric() == Metric.THROUGHPUT ? "MiB/s" : "us", r.cpuPerGiB()));
        }
        Files.write(file, lines);
    }

    /** Per metric: a line per size, a column per series (figure, then CPU s/GiB). */
    static void printTable(List<Row> rows, List<Series> series, List<Integer> sizes, PrintStream out) {
        for (Metric m : Metric.values()) {
            out.println(m == Metric.THROUGHPUT ? "Throughput, MiB/s (CPU s per GiB moved)" : "Round trip, µs (CPU s per GiB moved)");
            StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "| %-8s |", "size"));
            StringBuilder rule = new StringBuilder("|---|");
            for (Series s : series) {
                head.append(' ').append(s.label()).append(" |");
                rule.append("---|");
            }
            out.println(head);
            out.println(rule);
            for (int size : sizes) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "| %-8s |", size(size)));
                for (Series s : series) {
                    Optional<Row> r = find(rows, s, m, size);
                    line.append(' ').append(r.map(x -> figure(x.value()) + " (" + figure(x.cpuPerGiB()) + ")").orElse("-"))
                            .append(" |");
                }
                out.println(line);
            }
            out.println();
        }
    }

    static Optional<Row> find(List<Row> rows, Series s, Metric m, int size) {
        return rows.stream().filter(r -> r.series().equals(s) && r.metric() == m && r.size() == size).findFirst();
    }

    /**
     * The issue's targets: switch ÷ provider at 1 MiB throughput ≥ 0.90 and at the 8-byte round
     * trip ≤ 1.2 (tcp, and ucx per policy); switch over ucx ÷ switch over tcp at 1 MiB ≥ 2 (per
     * policy); over ucx the same for switch+migrate, whose targets must hold with migration on
     * (docs/migration.md, "Cost"). A target whose figures were not measured is left out.
     */
    static List<Verdict> verdicts(List<Row> rows, List<String> policies) {
        List<Verdict> v = new ArrayList<>();
        List<String> ucxPolicies = new ArrayList<>();
        policies.forEach(ucxPolicies::add);
        Map<String, String> transports = new LinkedHashMap<>();
        transports.put(SwitchBenchmark.TCP, "");
        for (String p : ucxPolicies) {
            transports.put(SwitchBenchmark.UCX + " " + p, p);
        }
        for (Map.Entry<String, String> t : transports.entrySet()) {
            String transport = t.getKey().split(" ")[0];
            Series provider = new Series(transport, "provider", t.getValue());
            for (String layer : List.of("switch", SwitchBenchmark.MIGRATING)) {
                Series sw = new Series(transport, layer, t.getValue());
                ratio(rows, sw, provider, Metric.THROUGHPUT, SwitchBenchmark.MIB).ifPresent(r -> v.add(new Verdict(
                        t.getKey() + ": " + layer + " ÷ provider, 1 MiB throughput", r, ">= 0.90", r >= 0.90)));
                ratio(rows, sw, provider, Metric.ROUND_TRIP, 8).ifPresent(r -> v.add(new Verdict(
                        t.getKey() + ": " + layer + " ÷ provider, 8-byte round trip", r, "<= 1.20", r <= 1.2)));
            }
        }
        for (String p : ucxPolicies) {
            for (String layer : List.of("switch", SwitchBenchmark.MIGRATING)) {
                ratio(rows, new Series(SwitchBenchmark.UCX, layer, p), new Series(SwitchBenchmark.TCP, "switch", ""),
                        Metric.THROUGHPUT, SwitchBenchmark.MIB).ifPresent(r -> v.add(new Verdict(
                                layer + " over ucx " + p + " ÷ switch over tcp, 1 MiB throughput", r, ">= 2", r >= 2)));
            }
        }
        return v;
    }

    private static Optional<Double> ratio(List<Row> rows, Series a, Series b, Metric m, int size) {
        Optional<Row> x = find(rows, a, m, size);
        Optional<Row> y = find(rows, b, m, size);
        return x.isPresent() && y.isPresent() ? Optional.of(x.get().value() / y.get().value()) : Optional.empty();
    }

    static void printVerdicts(List<Verdict> verdicts, PrintStream out) {
        out.println("Targets (issue \"Applications get the SAN's speed\"):");
        for (Verdict v : verdicts) {
            out.printf(Locale.ROOT, "  %-69s %7.3f  %-8s %s%n", v.target(), v.ratio(), v.bound(),
                    Double.isNaN(v.ratio()) ? "n/a (a figure failed)" : v.met() ? "MET" : "MISSED");
        }
    }

    /**
     * A line per policy, metric and size: switch+migrate ÷ switch, the ratio of the medians, what it
     * means (less throughput, a longer round trip), and each round's pair.
     */
    static void printCosts(List<Cost> costs, PrintStream out) {
        out.println("Cost of migration (switch+migrate ÷ switch over ucx; throughput below 1 and round trip above 1 are costs):");
        for (Cost c : costs) {
            StringBuilder rounds = new StringBuilder();
            for (double r : c.perRound()) {
                rounds.append(rounds.length() == 0 ? "" : " ").append(Double.isFinite(r) ? String.format(Locale.ROOT, "%.3f", r) : "n/a");
            }
            out.printf(Locale.ROOT, "  ucx %-16s %-10s %8s: %7.3f %-22s rounds %s%n", c.policy(),
                    c.metric() == Metric.THROUGHPUT ? "throughput" : "round trip", size(c.size()), c.ofMedians(), meaning(c),
                    rounds);
        }
    }

    private static String meaning(Cost c) {
        double r = c.ofMedians();
        if (!Double.isFinite(r)) {
            return "(n/a: a figure failed)";
        }
        double pct = Math.abs(r - 1) * 100;
        boolean throughput = c.metric() == Metric.THROUGHPUT;
        String way = throughput ? (r < 1 ? "less" : "more") : (r > 1 ? "longer" : "shorter");
        return String.format(Locale.ROOT, "(%.0f %% %s)", pct, way);
    }

    /** A log-log line chart of one metric: a curve per series, against the message size. */
    static void plot(List<Row> rows, Metric metric, String title, Path file) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        Map<Series, XYSeries> curves = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.metric() == metric && r.value() > 0) {
                curves.computeIfAbsent(r.series(), s -> new XYSeries(s.label())).add(r.size(), r.value());
            }
        }
        curves.values().forEach(data::addSeries);
        JFreeChart chart = ChartFactory.createXYLineChart(title, "message size (bytes)",
                metric == Metric.THROUGHPUT ? "throughput (MiB/s)" : "round trip (µs)", data, PlotOrientation.VERTICAL, true,
                false, false);
        XYPlot plot = chart.getXYPlot();
        LogAxis x = new LogAxis("message size (bytes, log)");
        x.setBase(2);
        x.setSmallestValue(1);
        x.setTickUnit(new NumberTickUnit(2)); // a tick per power of 4, labelled as a size
        x.setNumberFormatOverride(new SizeFormat());
        LogAxis y = new LogAxis(metric == Metric.THROUGHPUT ? "throughput (MiB/s, log)" : "round trip (µs, log)");
        y.setSmallestValue(1e-3);
        y.setTickUnit(new NumberTickUnit(1)); // a tick per power of 10, labelled as a plain number
        y.setNumberFormatOverride(new DecimalFormat("#,##0.###", DecimalFormatSymbols.getInstance(Locale.ROOT)));
        plot.setDomainAxis(x);
        plot.setRangeAxis(y);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        int i = 0;
        for (Series s : curves.keySet()) {
            renderer.setSeriesPaint(i, colour(s));
            // Raw solid and thick, provider dashed, switch solid, switch+migrate dotted in its switch's
            // colour: the layers tell apart at a glance, and migration's cost is the gap of one pair.
            renderer.setSeriesStroke(i, switch (s.layer()) {
                case "raw" -> new BasicStroke(3f);
                case "provider" -> new BasicStroke(1.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);
                case SwitchBenchmark.MIGRATING -> new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 10f,
                        new float[] {1f, 4f}, 0f);
                default -> new BasicStroke(1.8f);
            });
            i++;
        }
        plot.setRenderer(renderer);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, 1100, 700);
    }

    /** Axis labels as sizes (8 B, 1 KiB, 16 MiB). */
    private static final class SizeFormat extends NumberFormat {
        @Override
        public StringBuffer format(double number, StringBuffer to, FieldPosition pos) {
            return to.append(size((int) Math.round(number)));
        }

        @Override
        public StringBuffer format(long number, StringBuffer to, FieldPosition pos) {
            return to.append(size((int) number));
        }

        @Override
        public Number parse(String source, ParsePosition pos) {
            throw new UnsupportedOperationException("labels only");
        }
    }

    /** Rows back from a CSV this class wrote (to draw the plots again). */
    static List<Row> readCsv(Path file) throws IOException {
        List<Row> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(file);
        if (lines.isEmpty() || !lines.get(0).equals(CSV_HEADER)) {
            throw new IOException(file + " is not a SwitchBenchmark CSV (header " + CSV_HEADER + ")");
        }
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            if (f.length != 8) {
                throw new IOException("bad line in " + file + ": " + line);
            }
            rows.add(new Row(new Series(f[0], f[1], f[2]), Metric.valueOf(f[4].toUpperCase(Locale.ROOT)), Integer.parseInt(f[3]),
                    Double.parseDouble(f[5]), Double.parseDouble(f[7])));
        }
        return rows;
    }

    /** TCP in warm colours, UCX in cold ones; the busy-poll policy darker than the default. */
    private static Color colour(Series s) {
        boolean tcp = s.transport().equals(SwitchBenchmark.TCP);
        boolean busy = s.policy().equals("busy-poll");
        return switch (s.layer()) {
            case "raw" -> tcp ? new Color(120, 120, 120) : Color.BLACK;
            case "provider" -> tcp ? new Color(230, 120, 0) : busy ? new Color(0, 90, 200) : new Color(0, 160, 160);
            default -> tcp ? new Color(200, 0, 0) : busy ? new Color(20, 20, 140) : new Color(0, 110, 60);
        };
    }
}
