package io.sanswitch.core.switcher;

import io.sanswitch.api.SwitchSocket;

/**
 * The sessions the resume port may resume (docs/migration.md section 3): those parked by the move
 * (section 4), waiting for their connector's dial. Called on switch threads: answers at once.
 */
interface SessionDirectory {

    /**
     * A parked session: its key and the bytes of the peer's stream this side has received; or a
     * session still running here ({@code live} not null), which a proven dial makes park (it is then
     * refused, and the dial that follows finds it parked: docs/rules.md SW-migrate-proof).
     */
    record Parked(SessionKey key, long received, Runnable live) {
        public Parked {
            if (received < 0) {
                throw new IllegalArgumentException("received must not be negative: " + received);
            }
        }

        Parked(SessionKey key, long received) {
            this(key, received, null);
        }
    }

    /** The parked session of {@code id}, or {@code null} when there is none (never known, or gone). */
    Parked find(SessionId id);

    /**
     * The handshake for {@code id} succeeded and RESUME_ACCEPT was sent: the session goes on over
     * {@code socket} from {@code peerReceived} on.
     *
     * @return {@code false} when the session is no longer parked (resumed meanwhile, or given up); the
     *     resume port then aborts the socket
     */
    boolean resumed(SessionId id, long peerReceived, SwitchSocket socket);

    /** No session parked: every resume is refused (until the move parks sessions, docs/migration.md section 4). */
    static SessionDirectory none() {
        return new SessionDirectory() {
            @Override
            public Parked find(SessionId id) {
                return null;
            }

            @Override
            public boolean resumed(SessionId id, long peerReceived, SwitchSocket socket) {
                return false;
            }
        };
    }
}
