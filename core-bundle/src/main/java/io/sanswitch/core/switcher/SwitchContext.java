package io.sanswitch.core.switcher;

import java.time.Duration;
import java.util.concurrent.Future;

/** What connections and listeners need from the switch that owns them. */
interface SwitchContext {
    SerialQueue newQueue(String name);

    /** Runs {@code task} once after {@code delay} on the switch's timer thread; it must only enqueue. */
    Future<?> schedule(Runnable task, Duration delay);

    SwitchSettings settings();

    /** Memory registrations the switch holds on provider sockets changed by {@code delta}. */
    void registrations(long delta);

    /** This switch's resume port, announced in SESSION frames (docs/migration.md section 3); 0: none open. */
    int resumePort();

    void opened(Connection c);

    void ended(Connection c);
}
