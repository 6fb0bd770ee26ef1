package io.sanswitch.core.management;

import java.lang.management.ManagementFactory;
import java.util.Hashtable;

import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers and unregisters the sanswitch MBeans on the platform MBean server (the one jconsole and
 * the JMX agents see; it exists in Felix and Karaf alike). A failure is one log line naming the
 * object name: monitoring must never stop a component from activating.
 */
public final class PlatformBeans {
    private static final Logger LOG = LoggerFactory.getLogger(PlatformBeans.class);

    /** The one domain of every sanswitch MBean. */
    public static final String DOMAIN = "io.sanswitch";

    private final MBeanServer server;

    public PlatformBeans() {
        this(ManagementFactory.getPlatformMBeanServer());
    }

    PlatformBeans(MBeanServer server) {
        this.server = server;
    }

    /** {@code io.sanswitch:type=<type>[,name=<name>]}, the name quoted only where JMX needs it. */
    public static ObjectName name(String type, String name) {
        Hashtable<String, String> keys = new Hashtable<>();
        keys.put("type", type);
        if (name != null) {
            keys.put("name", quotedIfNeeded(name));
        }
        return objectName(keys);
    }

    /** {@code base} with one more key, for a second object that would otherwise take the same name. */
    public static ObjectName with(ObjectName base, String key, String value) {
        Hashtable<String, String> keys = new Hashtable<>(base.getKeyPropertyList());
        keys.put(key, quotedIfNeeded(value));
        return objectName(keys);
    }

    private static ObjectName objectName(Hashtable<String, String> keys) {
        try {
            return new ObjectName(DOMAIN, keys);
        } catch (MalformedObjectNameException e) {
            // every value went through quotedIfNeeded: cannot happen
            throw new IllegalArgumentException("object name from " + keys, e);
        }
    }

    private static String quotedIfNeeded(String value) {
        if (value.isEmpty() || value.chars().anyMatch(c -> ",=:\"*?\\\n".indexOf(c) >= 0)) {
            return ObjectName.quote(value);
        }
        return value;
    }

    /**
     * Registers {@code bean} as {@code preferred}, or as {@code fallback} when another object holds
     * that name already (a second provider of the same backend name, a second framework in the JVM).
     *
     * @return the name it is registered under, or {@code null} (logged) when it could not be registered
     */
    public ObjectName register(Object bean, ObjectName preferred, ObjectName fallback) {
        try {
            return server.registerMBean(bean, preferred).getObjectName();
        } catch (InstanceAlreadyExistsException taken) {
            try {
                ObjectName registered = server.registerMBean(bean, fallback).getObjectName();
                LOG.info("MBean {} exists already; this one is {}", preferred, registered);
                return registered;
            } catch (JMException | RuntimeException e) {
                LOG.warn("MBean {} not registered: {} exists already and {} failed: {}", bean, preferred, fallback,
                        e.toString());
                return null;
            }
        } catch (JMException | RuntimeException e) {
            LOG.warn("MBean {} not registered: {}", preferred, e.toString());
            return null;
        }
    }

    /** Unregisters {@code name}; {@code null} or already gone is fine. */
    public void unregister(ObjectName name) {
        if (name == null) {
            return;
        }
        try {
            server.unregisterMBean(name);
        } catch (InstanceNotFoundException gone) {
            // unregistered meanwhile: nothing left to do
        } catch (JMException | RuntimeException e) {
            LOG.warn("MBean {} not unregistered: {}", name, e.toString());
        }
    }
}
