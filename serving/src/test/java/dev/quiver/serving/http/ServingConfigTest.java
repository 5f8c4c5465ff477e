package dev.quiver.serving.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.serving.graph.Quantization;
import org.junit.jupiter.api.Test;

class ServingConfigTest {
    private static ServingConfig withQuantize(String quantize) {
        return new ServingConfig(8, 2048, 8, 64, 0, 32, 64, null, 128, null, quantize, null);
    }

    @Test
    void quantizeAcceptsNoneInt8AndInt4InAnyCase() {
        assertThat(withQuantize("none").quantization()).isEqualTo(Quantization.NONE);
        assertThat(withQuantize("INT8").quantization()).isEqualTo(Quantization.INT8);
        assertThat(withQuantize(" int4 ").quantization()).isEqualTo(Quantization.INT4);
    }

    @Test
    void anUnknownQuantizeNamesTheSettingAndTheAcceptedValues() {
        assertThatThrownBy(() -> withQuantize("fp8")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("quiver.serving.quantize (QUIVER_SERVING_QUANTIZE): quantize must be one of none, int8,"
                        + " int4; got 'fp8'");
    }
}
