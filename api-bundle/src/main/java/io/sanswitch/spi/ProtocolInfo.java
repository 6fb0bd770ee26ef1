package io.sanswitch.spi;

/**
 * The part of {@code WSAPROTOCOL_INFOW} that the SAN SPI uses. At {@code startupEx} it is the
 * TCP/IP provider's info, which tells the provider that the switch is its caller (docs/rules.md SW-start); at
 * {@code socket} it may carry, in {@code providerReserved}, the value of a duplicated socket
 * (docs/rules.md NS-duplicate; not supported by this implementation, see {@link SanServiceProvider#socket}).
 */
public record ProtocolInfo(int addressFamily, int socketType, int protocol, long providerReserved) {

    /** The TCP/IP provider's info for IPv4 stream sockets, as the switch passes it. */
    public static final ProtocolInfo TCP_IPV4 =
            new ProtocolInfo(Winsock.AF_INET, Winsock.SOCK_STREAM, Winsock.IPPROTO_TCP, 0L);
}
