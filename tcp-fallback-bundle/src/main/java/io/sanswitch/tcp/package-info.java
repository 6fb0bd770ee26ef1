/** The plain-TCP fallback backend on java.nio. Private to its bundle. */
package io.sanswitch.tcp;
