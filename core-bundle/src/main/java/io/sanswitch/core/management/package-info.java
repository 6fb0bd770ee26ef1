/**
 * The sanswitch MBeans on the platform MBean server, under the domain {@value PlatformBeans#DOMAIN}:
 * what {@code san:providers} shows, for the tools operators already point at a JVM (jconsole,
 * hawtio, a Prometheus JMX exporter). MXBeans, so every attribute is an open type a generic client
 * reads without the bundle's classes.
 */
package io.sanswitch.core.management;
