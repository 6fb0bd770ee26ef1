package io.sanswitch.benchmarks.cleanup;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The grid's results as a table, a CSV file and a plot of time against work. */
final class CleanupReport {
    private CleanupReport() {
    }

    static void printTable(List<Cell> cells, PrintStream out) {
        out.printf(Locale.ROOT, "%-9s %8s %8s %4s %10s %9s %16s %9s %19s %15s  %s%n", "transport", "sockets", "pending",
                "runs", "total ms", "a: gate", "b: abort+release", "c: reset", "d+e: transport rel.", "raw close (ms)",
                "note");
        for (Cell c : cells) {
            if (c.measured()) {
                out.printf(Locale.ROOT, "%-9s %8d %8d %4d %10.2f %9.2f %16.2f %9.2f %19.2f %15s  %s%n", c.transport(),
                        c.sockets(), c.pending(), c.repeats(), c.totalMs(), c.gateMs(), c.abortMs(), c.resetMs(),
                        c.transportMs(), Double.isNaN(c.rawCloseMs()) ? "-" : String.format(Locale.ROOT, "%.2f",
                                c.rawCloseMs()), c.note() == null ? "" : c.note());
            } else {
                out.printf(Locale.ROOT, "%-9s %8d %8d %4s %10s %9s %16s %9s %19s %15s  skipped: %s%n", c.transport(),
                        c.sockets(), c.pending(), "-", "-", "-", "-", "-", "-", "-", c.note());
            }
        }
    }

    static Path writeCsv(List<Cell> cells, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> lines = new ArrayList<>();
        lines.add(Cell.CSV_HEADER);
        cells.forEach(c -> lines.add(c.csv()));
        Path csv = dir.resolve("cleanup.csv");
        Files.write(csv, lines);
        return csv;
    }

    /**
     * Log-log plot, one line per transport and socket count, x = work (sockets + pending
     * operations), y = median time of one final cleanup; the 100 ms target as a marker.
     */
    /** A log axis with a tick per decade, labelled with plain numbers. */
    private static LogAxis decades(String label) {
        LogAxis a = new LogAxis(label);
        a.setBase(10);
        a.setTickUnit(new NumberTickUnit(1));
        a.setMinorTickCount(9);
        a.setMinorTickMarksVisible(true);
        a.setNumberFormatOverride(new DecimalFormat("#,##0.##", DecimalFormatSymbols.getInstance(Locale.ROOT)));
        return a;
    }

    static Path writePlot(List<Cell> cells, Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        XYSeriesCollection data = new XYSeriesCollection();
        for (Cell c : cells) {
            if (!c.measured()) {
                continue;
            }
            String key = c.transport() + ", " + c.sockets() + " sockets";
            XYSeries s;
            int i = data.getSeriesIndex(key);
            if (i < 0) {
                s = new XYSeries(key);
                data.addSeries(s);
            } else {
                s = data.getSeries(i);
            }
            s.add(c.sockets() + c.pending(), Math.max(c.totalMs(), 0.001));
        }
        JFreeChart chart = ChartFactory.createXYLineChart("Final cleanup: time against work", "work: sockets + pending operations",
                "median time of one final cleanup (ms)", data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        LogAxis x = decades("work: sockets + pending operations");
        LogAxis y = decades("median time of one final cleanup (ms)");
        plot.setDomainAxis(x);
        plot.setRangeAxis(y);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        // NIO solid in blues, UCX dashed in reds; darker for more sockets.
        Color[] nio = {new Color(0x9ecae1), new Color(0x3182bd), new Color(0x08306b)};
        Color[] ucx = {new Color(0xfcae91), new Color(0xde2d26), new Color(0x67000d)};
        int nioSeen = 0;
        int ucxSeen = 0;
        for (int i = 0; i < data.getSeriesCount(); i++) {
            boolean isUcx = data.getSeriesKey(i).toString().startsWith("ucx");
            r.setSeriesStroke(i, isUcx ? new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
                    new float[] {6f, 4f}, 0f) : new BasicStroke(2f));
            r.setSeriesPaint(i, isUcx ? ucx[Math.min(ucxSeen++, 2)] : nio[Math.min(nioSeen++, 2)]);
        }
        plot.setRenderer(r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        ValueMarker target = new ValueMarker(100);
        target.setPaint(Color.RED);
        target.setLabel("target: 100 ms (NIO, 10,000 sockets + 100,000 pending)");
        target.setLabelAnchor(RectangleAnchor.TOP_LEFT);
        target.setLabelTextAnchor(TextAnchor.BOTTOM_LEFT);
        plot.addRangeMarker(target);
        Path png = dir.resolve("cleanup.png");
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 600);
        return png;
    }
}
