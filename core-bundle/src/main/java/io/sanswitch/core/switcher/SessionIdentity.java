package io.sanswitch.core.switcher;

/**
 * What the SESSION frames of a migratable connection said (docs/migration.md section 2): the
 * session's id (the connector's choice), this side's secret and the peer's, and the peer's resume
 * port (0: none). The session key and the resume are built from it.
 */
record SessionIdentity(byte[] id, byte[] ownSecret, byte[] peerSecret, int peerResumePort) {
}
