package io.sanswitch.core.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.lang.ref.WeakReference;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.core.CleanupReason;
import io.sanswitch.core.Collected;
import io.sanswitch.core.ProviderEngine;
import io.sanswitch.core.ScriptedProvider;
import io.sanswitch.core.switcher.view.SwitchView;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.testing.Checks;
import io.sanswitch.spi.WsaException;

/**
 * The commands' text over engines with real figures (scripted backends): which rows, which
 * values in which column, the help and the refusals of bad input.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SanCommandsTest {
    private final SanCommands commands = new SanCommands();
    private final ScriptedProvider ucx = new ScriptedProvider("ucx");
    private final ScriptedProvider tcp = new ScriptedProvider("tcp");

    SanCommandsTest() {
        commands.addProvider(ucx.engine(), Map.of("service.id", 57L));
        commands.addProvider(tcp.engine(), Map.of("service.id", 41L));
    }

    /** The cell of {@code column} in the line starting with {@code rowKey}, located by the header. */
    private static String cell(String table, String rowKey, String column) {
        List<String> lines = table.lines().toList();
        String header = lines.get(0);
        String[] names = header.trim().split("\\s{2,}");
        String row = lines.stream().filter(l -> l.startsWith(rowKey)).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + rowKey + " in\n" + table));
        String[] cells = row.trim().split("\\s{2,}");
        assertEquals(names.length, cells.length, "one cell per column in '" + row + "'");
        return cells[List.of(names).indexOf(column)];
    }

    @Test
    void providersListsEachEngineWithItsOwnFigures() throws Exception {
        ucx.start();
        ucx.start();
        SocketHandle s = ucx.connected();
        ucx.receive(s);
        ucx.receive(s);
        ucx.connected();
        String text = commands.providersText();

        assertEquals("PROVIDER  SERVICE  STATE    REFS  SOCKETS  PENDING  GEN  CLEANUPS", text.lines().findFirst().get());
        assertEquals("tcp", text.lines().skip(1).findFirst().get().split(" ")[0], "sorted by name");
        assertEquals("57", cell(text, "ucx", "SERVICE"));
        assertEquals("RUNNING", cell(text, "ucx", "STATE"));
        assertEquals("2", cell(text, "ucx", "REFS"));
        assertEquals("2", cell(text, "ucx", "SOCKETS"));
        assertEquals("2", cell(text, "ucx", "PENDING"));
        assertEquals("1", cell(text, "ucx", "GEN"));
        assertEquals("IDLE", cell(text, "tcp", "STATE"));
        assertEquals("0", cell(text, "tcp", "GEN"));
        int stateColumn = text.lines().findFirst().get().indexOf("STATE");
        text.lines().forEach(l -> assertTrue(l.charAt(stateColumn - 1) == ' ' && l.charAt(stateColumn) != ' ',
                "STATE column aligned in '" + l + "'"));
    }

    @Test
    @Checks("LC-revision")
    void aRetiredProviderIsKeptAsItsHistoryOnlyNotItsEngine() throws Exception {
        WeakReference<ProviderEngine> engine = retire(new ScriptedProvider("gone"));

        assertTrue(Collected.within(engine, 20), "the commands still hold the retired provider's engine (and its transport)");
        String text = commands.cleanupHistoryText("gone");
        assertEquals("TRANSPORT_LEAVING", cell(text, text.lines().skip(1).findFirst().get(), "REASON"), text);
    }

    /** Started, then retired as ProviderRegistry does it; in a method of its own so that no local keeps it. */
    private WeakReference<ProviderEngine> retire(ScriptedProvider p) throws Exception {
        commands.addProvider(p.engine(), Map.of("service.id", 99L));
        p.start();
        commands.removeProvider(p.engine());
        p.engine().finalCleanup(CleanupReason.TRANSPORT_LEAVING);
        return new WeakReference<>(p.engine());
    }

    @Test
    void aRetiredProvidersFinalCleanupStaysInTheHistoryWithItsFigures() throws Exception {
        ucx.start();
        SocketHandle s = ucx.connected();
        ucx.receive(s);
        ucx.receive(s);
        ucx.connected();
        // What ProviderRegistry does when the backend bundle stops: unregister, then final cleanup.
        commands.removeProvider(ucx.engine());
        ucx.engine().finalCleanup(CleanupReason.TRANSPORT_LEAVING);

        String text = commands.cleanupHistoryText();
        assertEquals(2, text.lines().count(), text);
        String row = text.lines().skip(1).findFirst().get();
        assertEquals("ucx", cell(text, row, "PROVIDER"));
        assertEquals("57", cell(text, row, "SERVICE"));
        assertEquals("1", cell(text, row, "GEN"));
        assertEquals("TRANSPORT_LEAVING", cell(text, row, "REASON"));
        assertEquals("2", cell(text, row, "ABORTED"));
        assertEquals("2", cell(text, row, "RESET"));
        assertEquals("0", cell(text, row, "RESULT"));
        assertTrue(cell(text, row, "DURATION").matches("\\d+ (µs|ms)"), cell(text, row, "DURATION"));
        assertTrue(commands.providersText().lines().noneMatch(l -> l.startsWith("ucx")), "retired: not a provider");
        assertEquals(text, commands.mainText("cleanup-history"), "the shells' route for the hyphenated name");
    }

    @Test
    void aNetworkDownCleanupShowsItsWinsockNumberAndTheHistoryIsOldestFirst() throws Exception {
        tcp.start();
        tcp.engine().cleanup();
        tcp.start();
        tcp.connected();
        tcp.failNetwork();
        assertThrows(WsaException.class, () -> tcp.engine().cleanup());

        List<String> rows = commands.cleanupHistoryText("tcp").lines().skip(1).toList();
        assertEquals(2, rows.size());
        assertTrue(rows.get(0).endsWith("  0"), rows.get(0));
        assertTrue(rows.get(1).endsWith("  10050 WSAENETDOWN"), rows.get(1));
        assertEquals("No final cleanup yet on ucx\n", commands.cleanupHistoryText("ucx"));
    }

    @Test
    void socketsShowAddressesBytesAndTheSwitchsReasonWhenOneIsRegistered() throws Exception {
        ucx.start();
        SocketHandle s = ucx.connected();
        ucx.receive(s);
        assertTrue(ucx.completeOldest(2048));
        InetSocketAddress peer = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40123);
        ucx.accepted(peer);

        String text = commands.socketsText("ucx");
        List<String> rows = text.lines().skip(1).toList();
        assertEquals(3, rows.size(), text);
        assertEquals("127.0.0.1:7000", cell(text, rows.get(0), "LOCAL"));
        assertEquals("127.0.0.1:7001", cell(text, rows.get(0), "PEER"));
        assertEquals("2.0 KiB", cell(text, rows.get(0), "IN"));
        assertEquals("0 B", cell(text, rows.get(0), "OUT"));
        assertEquals("-", cell(text, rows.get(0), "REASON"));
        assertEquals("ucx", cell(text, rows.get(0), "PROVIDER"));
        assertEquals("CONNECTED", cell(text, rows.get(0), "ROLE"));
        assertEquals("127.0.0.1:40123", cell(text, rows.get(2), "PEER"));

        commands.reasons = (provider, handle) -> "peer in SAN subnet 127.0.0.0/8 (" + provider + ")";
        assertEquals("peer in SAN subnet 127.0.0.0/8 (ucx)", cell(commands.socketsText(), commands.socketsText().lines()
                .skip(1).findFirst().get(), "REASON"));
        assertEquals("No open sockets on tcp\n", commands.socketsText("tcp"));
    }

    /** docs/rules.md SW-migrate-visible: a moved connection's reason, first choice then each move, is one whole cell. */
    @Test
    @Checks("SW-migrate-visible")
    void socketsShowAMovedConnectionsHistoryInItsReasonCell() throws Exception {
        tcp.start();
        tcp.connected();
        tcp.connected();
        String moved = "PINNED: the application asked for ucx; moved ucx -> tcp (provider withdrawn, paused 12 ms)";
        String never = "SAN_SUBNET: peer 127.0.0.1 on a SAN subnet";
        java.util.Iterator<String> reasons = List.of(moved, never).iterator();
        commands.reasons = (provider, handle) -> reasons.next();
        String text = commands.socketsText("tcp");
        List<String> rows = text.lines().skip(1).toList();
        assertEquals(2, rows.size(), text);
        assertEquals(moved, cell(text, rows.get(0), "REASON"));
        assertEquals(never, cell(text, rows.get(1), "REASON"));
        assertTrue(text.lines().findFirst().get().trim().endsWith("REASON"), "the reason stays the last column: " + text);
    }

    @Test
    void everyCommandAnswersHelpAndRefusesBadInputWithItsUsage() throws Exception {
        assertEquals(SanCommands.PROVIDERS_USAGE, commands.providersText("--help"));
        assertEquals(SanCommands.SOCKETS_USAGE, commands.socketsText("-h"));
        assertEquals(SanCommands.BENCH_USAGE, commands.benchText("--help"));
        assertEquals(SanCommands.HISTORY_USAGE, commands.mainText("cleanup-history", "--help"));

        assertTrue(commands.providersText("x").startsWith("san:providers takes no arguments\nUsage: san:providers"));
        assertEquals("No provider 'rdma'; registered: tcp, ucx\n" + SanCommands.SOCKETS_USAGE, commands.socketsText("rdma"));
        assertEquals("No provider 'rdma'; registered: tcp, ucx\n" + SanCommands.BENCH_USAGE, commands.benchText("rdma"));
        assertTrue(commands.benchText("ucx", "0").startsWith("seconds must be 1 to 60, was 0\n"));
        assertTrue(commands.benchText("99999999999").startsWith("seconds must be 1 to 60, was 2147483647\n"));
        assertTrue(commands.benchText("ucx", "tcp").startsWith("two provider names given: ucx, tcp\n"));
        assertTrue(commands.benchText("a", "1", "b").startsWith("san:bench takes at most two arguments\n"));
        assertTrue(commands.cleanupHistoryText("a", "b").startsWith("san:cleanup-history takes at most one argument\n"));
        assertTrue(commands.mainText("nope").startsWith("Unknown command san:nope; the san commands are:"));
    }

    @Test
    void benchWithoutTheSwitchSaysItNeedsItAndStartsNoProvider() throws Exception {
        String text = commands.benchText("ucx", "1");
        assertTrue(text.startsWith("san:bench runs through the switch, and no SocketSwitch service is there"), text);
        assertEquals("IDLE", ucx.engine().status().state(), "the bench never calls startupEx itself (docs/rules.md Q11)");
    }

    @Test
    void withoutProvidersEachCommandSaysSo() throws Exception {
        SanCommands empty = new SanCommands();
        assertTrue(empty.providersText().startsWith("No SAN providers registered"));
        assertEquals("No open sockets\n", empty.socketsText());
        assertEquals("No final cleanup yet\n", empty.cleanupHistoryText());
        assertTrue(empty.benchText().startsWith("No SAN providers registered\n"));
    }

    /**
     * What bin/client, ssh exec and pipes get: the shells point System.out of the command's thread
     * at the session, and print no returned value there. So every Gogo function prints its text
     * (the console's, which the Karaf commands print too) and returns nothing.
     */
    @Test
    void theGogoFunctionsPrintTheConsolesTextAndReturnNothing() throws Exception {
        for (java.lang.reflect.Method m : GogoFunctions.class.getMethods()) {
            if (m.getDeclaringClass() == GogoFunctions.class) {
                assertEquals(void.class, m.getReturnType(), m.getName() + ": a returned value is not printed by bin/client");
            }
        }
        GogoFunctions functions = new GogoFunctions(commands);
        String providers = commands.providersText();
        assertEquals(providers, commands.text("providers"));
        assertEquals(providers, printed(() -> functions.providers()));
        assertEquals(commands.socketsText("tcp"), printed(() -> functions.sockets("tcp")));
        assertEquals(commands.cleanupHistoryText(), printed(() -> functions._main("cleanup-history")));
        assertEquals(SanCommands.SWITCH_USAGE, printed(() -> functions._main("switch", "--help")));
        assertEquals(SanCommands.ROUTE_USAGE, printed(() -> functions.route("-h")));
        assertTrue(printed(() -> functions.bench("nope")).startsWith("No provider 'nope'"));
        assertTrue(commands.text("nope").startsWith("Unknown command san:nope; the san commands are: providers"));
    }

    interface Command {
        void run() throws Exception;
    }

    private static synchronized String printed(Command c) throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.io.PrintStream before = System.out;
        System.setOut(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            c.run();
        } finally {
            System.setOut(before);
        }
        return bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** A switch's account as the switch gives it; the command only lays it out. */
    private static final class GivenView implements SwitchView {
        InetSocketAddress asked;

        @Override
        public List<Setting> settingsInForce() {
            return List.of(new Setting("sanSubnets", "10.20.0.0/16", "io.sanswitch.switch"),
                    new Setting("rdmaPortOffset", "1", "default"));
        }

        @Override
        public List<Provider> providersBound() {
            return List.of(new Provider("tcp", "TCP: other peers, fallback", "stream", "none"));
        }

        @Override
        public RouteAnswer routeTo(InetSocketAddress peer) {
            asked = peer;
            return new RouteAnswer("ucx", new InetSocketAddress(peer.getAddress(), peer.getPort() + 1), "SAN_SUBNET",
                    "peer on a SAN subnet");
        }
    }

    @Test
    void switchShowsSettingsWithTheirSourceAndTheProvidersRoles() throws Exception {
        assertTrue(commands.switchText().startsWith("No SocketSwitch service is there"));
        commands.switchView = new GivenView();
        String text = commands.switchText();
        assertEquals("SETTING         VALUE         SOURCE", text.lines().findFirst().get());
        assertEquals("io.sanswitch.switch", cell(text, "sanSubnets", "SOURCE"));
        assertEquals("default", cell(text, "rdmaPortOffset", "SOURCE"));
        String providers = text.substring(text.indexOf("\n\n") + 2);
        assertEquals("TCP: other peers, fallback", cell(providers, "tcp", "ROLE"));
        assertTrue(commands.switchText("x").startsWith("san:switch takes no arguments\nUsage: san:switch"));
    }

    @Test
    void routeAsksTheSwitchForTheParsedPeerAndRefusesBadInputFirst() throws Exception {
        GivenView view = new GivenView();
        commands.switchView = view;
        String text = commands.routeText("10.20.0.7:5000");
        assertEquals(new InetSocketAddress(InetAddress.getByName("10.20.0.7"), 5000), view.asked);
        assertEquals("ucx", cell(text, "10.20.0.7:5000", "PROVIDER"));
        assertEquals("10.20.0.7:5001", cell(text, "10.20.0.7:5000", "CONNECTS TO"));
        assertEquals("SAN_SUBNET", cell(text, "10.20.0.7:5000", "REASON"));
        assertEquals("[fd00:0:0:0:0:0:0:7]:5001", cell(commands.routeText("[fd00::7]:5000"), "[fd00", "CONNECTS TO"));
        view.asked = null;
        String refused = commands.routeText("db.example:5000");
        assertTrue(refused.startsWith("'db.example:5000' is no HOST:PORT: 'db.example' is no literal IP address"), refused);
        assertTrue(refused.endsWith(SanCommands.ROUTE_USAGE));
        assertEquals(null, view.asked, "nothing asked for a refused peer");
        assertTrue(commands.routeText().startsWith("san:route takes one HOST:PORT\n"));
    }
}
