package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PrefillBudgetTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void withNothingDecodingPrefillRunsAtTheCap() {
        PrefillBudget budget = new PrefillBudget(512, Duration.ofMillis(200));
        assertThat(budget.tokens(false)).isEqualTo(512);
        budget.observe(10, SECOND);
        assertThat(budget.tokens(false)).isEqualTo(512);
    }

    @Test
    void whileDecodingAChunkTakesAboutTheBudgetAtTheMeasuredRate() {
        PrefillBudget budget = new PrefillBudget(512, Duration.ofMillis(200));
        assertThat(budget.tokens(true)).as("no rate measured yet").isEqualTo(PrefillBudget.MIN_CHUNK_TOKENS);
        budget.observe(1000, SECOND);
        assertThat(budget.tokens(true)).isEqualTo(200);
        // a slower chunk moves the running rate a quarter of the way: 0.25 x 100 + 0.75 x 1000 = 775 tokens/s
        budget.observe(100, SECOND);
        assertThat(budget.tokens(true)).isEqualTo(155);
    }

    @Test
    void theChunkStaysBetweenTheFloorAndTheCap() {
        PrefillBudget fast = new PrefillBudget(512, Duration.ofSeconds(1));
        fast.observe(1000, SECOND);
        assertThat(fast.tokens(true)).isEqualTo(512);
        PrefillBudget tight = new PrefillBudget(512, Duration.ofMillis(1));
        tight.observe(1000, SECOND);
        assertThat(tight.tokens(true)).isEqualTo(PrefillBudget.MIN_CHUNK_TOKENS);
        PrefillBudget smallCap = new PrefillBudget(8, Duration.ofMillis(1));
        assertThat(smallCap.tokens(true)).isEqualTo(8);
        assertThat(smallCap.tokens(false)).isEqualTo(8);
    }

    @Test
    void refusesANonPositiveBudgetOrCap() {
        assertThatThrownBy(() -> new PrefillBudget(512, Duration.ZERO)).hasMessageContaining("positive duration");
        assertThatThrownBy(() -> new PrefillBudget(0, Duration.ofMillis(200))).hasMessageContaining("0 tokens");
    }
}
