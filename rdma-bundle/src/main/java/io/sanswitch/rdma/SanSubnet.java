package io.sanswitch.rdma;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * One SAN subnet in CIDR notation ({@code 192.168.10.0/24}, {@code fd00:5a::/64}): peers inside
 * it are reached over RDMA. Only address literals are accepted, never host names, so reading a
 * configuration never waits for DNS.
 */
record SanSubnet(InetAddress network, int prefixLength) {

    /**
     * Parses {@code cidr}; host bits below the prefix are cleared, so {@code 10.1.2.3/8} is
     * {@code 10.0.0.0/8}.
     *
     * @throws IllegalArgumentException naming what is wrong with {@code cidr}
     */
    static SanSubnet parse(String cidr) {
        if (cidr == null || cidr.isBlank()) {
            throw new IllegalArgumentException("empty subnet");
        }
        String text = cidr.strip();
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("'" + text + "' has no prefix length (address/bits)");
        }
        byte[] address = literal(text.substring(0, slash), text);
        int maxBits = address.length * 8;
        int bits;
        try {
            bits = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' has no numeric prefix length");
        }
        if (bits < 0 || bits > maxBits) {
            throw new IllegalArgumentException("'" + text + "': prefix length must be 0 to " + maxBits);
        }
        for (int i = 0; i < address.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - i * 8));
            address[i] &= (byte) (0xff << (8 - keep));
        }
        try {
            return new SanSubnet(InetAddress.getByAddress(address), bits);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "': " + e.getMessage());
        }
    }

    /** The bytes of an IPv4 or IPv6 literal; never a name lookup. */
    private static byte[] literal(String address, String cidr) {
        if (address.indexOf(':') < 0) {
            return ipv4(address, cidr);
        }
        // Only hex digits, colons and dots (an embedded IPv4 tail) reach InetAddress, which
        // parses such text as a literal without asking DNS.
        for (char c : address.toCharArray()) {
            if (Character.digit(c, 16) < 0 && c != ':' && c != '.') {
                throw new IllegalArgumentException("'" + cidr + "': not an IPv6 address");
            }
        }
        try {
            return InetAddress.getByName(address.toLowerCase(Locale.ROOT)).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + cidr + "': not an IPv6 address");
        }
    }

    private static byte[] ipv4(String address, String cidr) {
        String[] parts = address.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("'" + cidr + "': not an IPv4 address");
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("'" + cidr + "': not an IPv4 address");
            }
            int octet = Integer.parseInt(p);
            if (octet > 255) {
                throw new IllegalArgumentException("'" + cidr + "': " + octet + " is not an octet");
            }
            bytes[i] = (byte) octet;
        }
        return bytes;
    }

    /** The canonical CIDR text, as published in the service property. */
    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }
}
