package dev.quiver.finetune.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LearningRateScheduleTest {
    @Test
    void warmsUpLinearlyThenDecaysAlongACosine() {
        LearningRateSchedule s = new LearningRateSchedule(1e-3, 4, 24);
        assertThat(s.at(0)).isCloseTo(0.2e-3, within(1e-12));
        assertThat(s.at(3)).isCloseTo(0.8e-3, within(1e-12));
        assertThat(s.at(4)).isEqualTo(1e-3);
        assertThat(s.at(14)).isCloseTo(0.5e-3, within(1e-12));
        assertThat(s.at(23)).isCloseTo(1e-3 * 0.5 * (1 + Math.cos(Math.PI * 19 / 20)), within(1e-15));
        for (int i = 5; i < 24; i++) {
            assertThat(s.at(i)).isLessThan(s.at(i - 1));
        }
    }

    @Test
    void withoutWarmupStartsAtThePeak() {
        assertThat(new LearningRateSchedule(2e-4, 0, 10).at(0)).isEqualTo(2e-4);
    }
}
