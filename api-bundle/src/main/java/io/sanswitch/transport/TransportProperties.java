package io.sanswitch.transport;

/**
 * Service properties of a {@link Transport} service, which the core copies to the provider it
 * registers for it: what the switch routes by.
 */
public final class TransportProperties {
    /** The backend's name ({@code "tcp"}, {@code "ucx"}): a String. */
    public static final String TRANSPORT = "sanswitch.transport";
    /**
     * The SAN subnets whose peers the switch should reach through this backend: a String[] of
     * CIDRs in {@link Cidr#toString() canonical form}.
     */
    public static final String SAN_SUBNETS = "sanswitch.san.subnets";

    private TransportProperties() {
    }
}
