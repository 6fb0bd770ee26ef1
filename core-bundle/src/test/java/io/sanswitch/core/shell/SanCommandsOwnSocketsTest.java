package io.sanswitch.core.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.core.ScriptedProvider;
import io.sanswitch.core.switcher.MigrationOff;
import io.sanswitch.core.switcher.Switch;
import io.sanswitch.core.switcher.SwitchSettings;
import io.sanswitch.testing.Checks;
import io.sanswitch.testing.Eventually;
import io.sanswitch.transport.TransportProperties;

/**
 * docs/rules.md SW-own-sockets in the shell: with {@code migrate} on (the default) the switch's resume
 * ports are provider sockets of its own. {@code san:providers} counts them among its SOCKETS and says
 * so below the table, {@code san:switch} lists them (the ports an operator opens between two switches),
 * {@code san:sockets} names them. A real switch over scripted providers (tcp without RDMA, ucx with).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SanCommandsOwnSocketsTest {
    private final SanCommands commands = new SanCommands();
    private final ScriptedProvider tcp = ScriptedProvider.streamOnly("tcp");
    private final ScriptedProvider ucx = new ScriptedProvider("ucx");
    private Switch sw;

    private void start(SwitchSettings settings) {
        sw = new Switch(settings);
        sw.bindProvider(tcp.engine(), Map.of(TransportProperties.TRANSPORT, "tcp"));
        sw.bindProvider(ucx.engine(), Map.of(TransportProperties.TRANSPORT, "ucx"));
        commands.addProvider(tcp.engine(), Map.of("service.id", 41L));
        commands.addProvider(ucx.engine(), Map.of("service.id", 57L));
        commands.switchView = sw;
        commands.reasons = sw;
    }

    @AfterEach
    void stop() {
        if (sw != null) {
            sw.deactivate();
        }
    }

    /** The SOCKETS cell of a provider's row in {@code san:providers}. */
    private static String sockets(String table, String provider) {
        List<String> lines = table.lines().toList();
        List<String> names = List.of(lines.get(0).trim().split("\\s{2,}"));
        String row = lines.stream().filter(l -> l.startsWith(provider + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + provider + " in\n" + table));
        return row.trim().split("\\s{2,}")[names.indexOf("SOCKETS")];
    }

    @Test
    @Checks("SW-own-sockets")
    void withNoApplicationListenerTheSocketsAreSaidToBeTheSwitchsOwnAndItsResumePortsListed() throws Exception {
        start(SwitchSettings.defaults());
        int tcpPort = sw.resumePort();
        int ucxPort = sw.returnPort();
        int offset = sw.settings().rdmaPortOffset();

        String providers = commands.providersText();
        assertEquals("1", sockets(providers, "tcp"), providers);
        assertEquals("1", sockets(providers, "ucx"), providers);
        assertTrue(providers.endsWith("\nOf the SOCKETS, the switch's own resume ports (no application's): tcp 1, ucx 1"
                + " (san:switch lists them)\n"), providers);

        String text = commands.switchText();
        String ports = text.substring(text.indexOf("RESUME PORT"));
        List<String> rows = ports.lines().toList();
        assertEquals(3, rows.size(), ports);
        assertTrue(rows.get(0).matches("RESUME PORT\\s+PROVIDER\\s+LISTENS AT\\s+FOR"), ports);
        assertTrue(rows.get(1).matches("\\s*" + tcpPort + "\\s+tcp\\s+" + tcpPort + "\\s+moves to TCP"), ports);
        assertTrue(rows.get(2).matches("\\s*" + ucxPort + "\\s+ucx\\s+" + (ucxPort + offset) + "\\s+moves back to RDMA"),
                ports);

        String sockets = commands.socketsText();
        assertTrue(sockets.contains("RESUME PORT: the switch's own listener for moves to tcp, port " + tcpPort), sockets);
        assertTrue(sockets.contains("RESUME PORT: the switch's own listener for moves back to ucx, port " + ucxPort),
                sockets);
        assertTrue(!sockets.contains("LISTENING: switch listener"), "no application's listener shown:\n" + sockets);
    }

    @Test
    @Checks("SW-own-sockets")
    void anApplicationListenerIsOneSocketMoreAndTheSwitchsOwnStayAsThey() throws Exception {
        start(SwitchSettings.defaults());
        try (SwitchServerSocket l = sw.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4)) {
            String providers = commands.providersText();
            assertEquals("2", sockets(providers, "tcp"), providers);
            assertTrue(providers.contains("\nOf the SOCKETS, the switch's own resume ports (no application's): tcp 1, ucx 1"),
                    providers);
            String sockets = commands.socketsText("tcp");
            assertTrue(sockets.contains("LISTENING: switch listener 127.0.0.1:" + l.localAddress().getPort()), sockets);
        }
    }

    @Test
    @Checks("SW-own-sockets")
    void withMigrateOffThereIsNoSocketOfTheSwitchsOwnToShow() throws Exception {
        start(MigrationOff.of(SwitchSettings.defaults()));
        String providers = commands.providersText();
        assertEquals("0", sockets(providers, "tcp"), providers);
        assertTrue(!providers.contains("the switch's own"), providers);
        assertTrue(commands.switchText().endsWith(
                "\nNo resume port listening (the switch opens its own while migrate is on)\n"), commands.switchText());
        Eventually.until("nothing open", () -> commands.socketsText().startsWith("No open sockets"));
    }
}
