package io.sanswitch.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The rules of {@code docs/rules.md} a test checks, by id, e.g. {@code @Checks({"LC-b", "OV-poll"})}.
 * Name only what the test asserts, not what it merely passes through. The build reads these from
 * the sources and generates the conformance matrix (rule × engine, tcp, ucx, switch, Felix, Karaf;
 * {@code ConformanceMatrixTest}); an id that is not in the catalogue fails the build.
 *
 * <p>Source retention on purpose: the generator reads the sources, so the annotation leaves no trace
 * in class files, and tests that run inside an OSGi container (Pax Exam probes) need nothing of it.
 */
@Documented
@Retention(RetentionPolicy.SOURCE)
@Target(ElementType.METHOD)
public @interface Checks {
    /** Rule ids of {@code docs/rules.md}. */
    String[] value();
}
