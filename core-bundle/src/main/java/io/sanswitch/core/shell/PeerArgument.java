package io.sanswitch.core.shell;

import java.net.InetSocketAddress;

import io.sanswitch.transport.Cidr;

/**
 * The {@code HOST:PORT} of {@code san:route}: a literal address only ({@code 10.20.0.7:5000},
 * {@code [fd00::7]:5000}), read by the project's strict address parser ({@link Cidr}), so that a
 * typo never waits on DNS and a name never routes differently than the address it resolves to later.
 */
final class PeerArgument {
    /** Longer text is no HOST:PORT (an IPv6 literal in brackets with a port has at most 47 characters). */
    private static final int MAX_TEXT = 64;

    private PeerArgument() {
    }

    /**
     * @throws IllegalArgumentException with a message for the operator naming the text
     */
    static InetSocketAddress parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("no HOST:PORT given");
        }
        String s = text.strip();
        if (s.length() > MAX_TEXT) {
            throw new IllegalArgumentException("'" + s.substring(0, MAX_TEXT) + "...' is no HOST:PORT: longer than "
                    + MAX_TEXT + " characters");
        }
        String host;
        String port;
        boolean v6 = s.startsWith("[");
        if (v6) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw refused(s, "an IPv6 address goes in brackets before the port: [fd00::7]:5000");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw refused(s, "no port (HOST:PORT, for example 10.20.0.7:5000)");
            }
            if (s.indexOf(':') != colon) {
                throw refused(s, "an IPv6 address goes in brackets before the port: [fd00::7]:5000");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
        }
        int p = port(s, port);
        try {
            return new InetSocketAddress(Cidr.parse(host + (v6 ? "/128" : "/32")).network(), p);
        } catch (IllegalArgumentException e) {
            String why = e.getMessage();
            int at = why.indexOf(" is no subnet: ");
            throw refused(s, "'" + host + "' is no literal IP address"
                    + (at < 0 ? "" : " (" + why.substring(at + " is no subnet: ".length()) + ")")
                    + "; san:route looks up no host names");
        }
    }

    private static int port(String s, String port) {
        if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw refused(s, "the port must be a number 1 to 65535, was '" + port + "'");
        }
        int p = Integer.parseInt(port);
        if (p < 1 || p > 0xFFFF) {
            throw refused(s, "the port must be a number 1 to 65535, was " + p);
        }
        return p;
    }

    private static IllegalArgumentException refused(String text, String why) {
        return new IllegalArgumentException("'" + text + "' is no HOST:PORT: " + why);
    }
}
