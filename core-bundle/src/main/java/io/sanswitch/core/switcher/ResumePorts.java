package io.sanswitch.core.switcher;

import static io.sanswitch.spi.WsaError.WSAEADDRINUSE;

import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.sanswitch.core.switcher.view.SwitchView;
import io.sanswitch.spi.WsaException;

/**
 * The switch's resume ports (docs/migration.md sections 3 and 6): the one over TCP that moved
 * sessions resume at (docs/rules.md SW-migrate-port), and the one over the RDMA provider that they
 * come back at (SW-migrate-back), each opened and closed as the settings, the switch's activity and
 * the providers say. Any thread: opening and closing hold the resume lock. It logs as the switch.
 */
final class ResumePorts {
    private static final Logger LOG = LoggerFactory.getLogger(Switch.class);
    private final Switch sw;
    /** Guards opening and closing the resume port (never held while waiting for anything else). */
    private final Object resumeLock = new Object();
    /** docs/migration.md section 3: open while migrate is on and a TCP provider runs; else {@code null}. */
    private volatile ResumePort resumePort;
    /**
     * docs/migration.md section 6: the resume port over the RDMA provider, for moves back; null: none.
     * Its listener is pinned to the provider's name, so it rejoins a provider that comes back (SW-join).
     */
    private volatile ResumePort returnPort;
    /** The {@code resumePort} setting the open resume port was opened for; on the resume lock. */
    private int resumePortOpenedFor;
    /** Where the resume ports look sessions up; any thread. */
    private volatile SessionDirectory sessions;

    ResumePorts(Switch sw, SessionDirectory sessions) {
        this.sw = sw;
        this.sessions = sessions;
    }

    /**
     * docs/migration.md section 3, docs/rules.md SW-migrate-port: the resume port is open while
     * {@code migrate} is on, the switch active and a TCP provider running (it comes at activation, when
     * {@code modified} turns migrate on, or when the TCP provider binds); it closes when migrate goes
     * off and at deactivation, and opens again elsewhere when {@code resumePort} changes. A port in use is one WARN line, and
     * migration goes on without a resume port (no session can be resumed here; SESSION announces 0).
     */
    void resumePortFollowsSettings() {
        synchronized (resumeLock) {
            MigrationSettings m = sw.settings().migration();
            ResumePort open = resumePort;
            if (open != null && (!sw.active || !m.migrate() || m.resumePort() != resumePortOpenedFor)) {
                resumePort = null;
                open.close();
                open = null;
            }
            returnPortFollowsSettings();
            if (open != null || !sw.active || !m.migrate() || sw.tcpProvider() == null) {
                return;
            }
            try {
                resumePort = ResumePort.open(sw, m.resumePort(), sessions);
                resumePortOpenedFor = m.resumePort();
            } catch (WsaException e) {
                if (e.error() == WSAEADDRINUSE) {
                    LOG.warn("resume port {} is in use: migration goes on without a resume port, no session can "
                            + "resume here ({})", m.resumePort(), e.getMessage());
                } else {
                    LOG.warn("no resume port on {}: {}; migration goes on without one", m.resumePort(), e.getMessage());
                }
            } catch (RuntimeException e) {
                // A provider that breaks the SPI (a null socket, say) must not fail its own bind.
                LOG.warn("no resume port on {}: the TCP provider failed ({}); migration goes on without one",
                        m.resumePort(), e.toString());
            }
        }
    }

    /**
     * docs/rules.md SW-migrate-back: the RDMA resume port is open while {@code migrate} and {@code moveBack}
     * are on, the switch active and an RDMA provider has run; it closes with either setting and at
     * deactivation. On the resume lock.
     */
    private void returnPortFollowsSettings() {
        MigrationSettings m = sw.settings().migration();
        ResumePort open = returnPort;
        if (open != null && (!sw.active || !m.migrate() || !m.moveBack())) {
            returnPort = null;
            open.close();
            open = null;
        }
        BoundProvider rdma = sw.rdmaProvider();
        if (open != null || !sw.active || !m.migrate() || !m.moveBack() || rdma == null) {
            return;
        }
        try {
            returnPort = ResumePort.open(sw, rdma, 0, sessions);
        } catch (WsaException e) {
            LOG.warn("no RDMA resume port over {}: {}; moved sessions stay on TCP", rdma.name, e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("no RDMA resume port over {}: the provider failed ({}); moved sessions stay on TCP", rdma.name,
                    e.toString());
        }
    }

    /**
     * The RDMA resume port a moved session's RETURN announces (docs/migration.md section 6); 0 while
     * none listens over a running RDMA provider.
     */
    int returnPort() {
        ResumePort p = returnPort;
        return p != null && p.listening() ? p.port() : 0;
    }

    /** The port of the resume port, for the SESSION frame (docs/migration.md section 2); 0 when none is open. */
    int resumePort() {
        ResumePort p = resumePort;
        return p == null ? 0 : p.port();
    }

    /** Where the resume port looks sessions up (the move's parked sessions); takes effect at its next opening. */
    void sessions(SessionDirectory directory) {
        sessions = directory;
    }

    /** {@code san:switch}: the resume ports listening now, where each listens and what for (docs/rules.md SW-own-sockets). */
    List<SwitchView.OwnPort> listening() {
        List<SwitchView.OwnPort> ports = new ArrayList<>();
        ResumePort tcp = resumePort;
        if (tcp != null && tcp.listening()) {
            ports.add(new SwitchView.OwnPort(tcp.provider(), tcp.port(), tcp.listensAt(), "moves to TCP"));
        }
        ResumePort rdma = returnPort;
        if (rdma != null && rdma.listening()) {
            ports.add(new SwitchView.OwnPort(rdma.provider(), rdma.port(), rdma.listensAt(), "moves back to RDMA"));
        }
        return ports;
    }
}
