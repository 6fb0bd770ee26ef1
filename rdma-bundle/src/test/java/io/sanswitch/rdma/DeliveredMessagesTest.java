package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import io.sanswitch.testing.Checks;

/** What the UCX closing notice counts (docs/rules.md SK-close-teardown): the run of delivered messages from the first. */
class DeliveredMessagesTest {

    @Test
    @Checks("SK-close-teardown")
    void aMessageCountsOnceEveryMessageBeforeItWasDeliveredWhateverTheOrderUcxCallsThemBack() {
        DeliveredMessages d = new DeliveredMessages();
        DeliveredMessages.Message large = d.begin();
        DeliveredMessages.Message small = d.begin();
        d.done(small, true); // an eager message is called back before a rendezvous one sent earlier
        assertEquals(0, d.count());
        d.done(large, true);
        assertEquals(2, d.count());
    }

    @Test
    @Checks("SK-close-teardown")
    void aLostMessageEndsTheCountForGoodEvenWhenLaterOnesArrive() {
        DeliveredMessages d = new DeliveredMessages();
        d.done(d.begin(), true);
        DeliveredMessages.Message aborted = d.begin();
        DeliveredMessages.Message after = d.begin();
        d.done(after, true);
        d.done(aborted, false);
        d.done(d.begin(), true);
        assertEquals(1, d.count(), d.toString());
        assertEquals(4, d.started());
    }
}
