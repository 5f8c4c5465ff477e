package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How a CPU session picks each concern's kernel: the library and the CPU by default, a system property over them. */
class KernelChoiceTest {
    @AfterEach
    void clear() {
        System.clearProperty(AttentionKernel.PROPERTY);
    }

    @Test
    void withoutThePropertyTheLibrarysOpRunsWhereTheCpuRunsItsFastKernels() {
        assumeTrue(QuiverOps.library().isPresent(), "no Quiver ops library for " + QuiverOps.platform());
        assertThat(QuiverOps.choose(AttentionKernel.PROPERTY, AttentionKernel.GQA, AttentionKernel.NATIVE, true))
                .isEqualTo(AttentionKernel.NATIVE);
        assertThat(QuiverOps.choose(AttentionKernel.PROPERTY, AttentionKernel.GQA, AttentionKernel.NATIVE, false))
                .isEqualTo(AttentionKernel.GQA);
    }

    @Test
    void thePropertyPicksEitherByItsLowerCaseName() {
        System.setProperty(AttentionKernel.PROPERTY, " GQA ");
        assertThat(AttentionKernel.forCpu()).isEqualTo(AttentionKernel.GQA);
        if (QuiverOps.library().isPresent()) {
            System.setProperty(AttentionKernel.PROPERTY, "native");
            assertThat(QuiverOps.choose(AttentionKernel.PROPERTY, AttentionKernel.GQA, AttentionKernel.NATIVE, false))
                    .as("named, it runs even where its kernels are the portable ones").isEqualTo(AttentionKernel.NATIVE);
        }
    }

    @Test
    void anUnknownNameIsAnErrorListingBoth() {
        System.setProperty(AttentionKernel.PROPERTY, "flash");
        assertThatThrownBy(AttentionKernel::forCpu).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("quiver.serving.attention-kernel must be gqa or native; got 'flash'");
    }

    @Test
    void onlyTheNativeOpsOnAQuantizedBaseReadFp16PoolsAndCache() {
        for (Quantization q : Quantization.values()) {
            for (AttentionKernel attention : AttentionKernel.values()) {
                for (LoraKernel lora : LoraKernel.values()) {
                    CompileOptions o = CompileOptions.builder().optQuantization(q).optAttentionKernel(attention)
                            .optLoraKernel(lora).optQuantizedKernel(QuantizedKernel.NBITS).build();
                    boolean quantized = q != Quantization.NONE;
                    assertThat(o.kvPrecision()).as(o.toString()).isEqualTo(
                            quantized && attention == AttentionKernel.NATIVE ? Precision.FP16 : Precision.FP32);
                    assertThat(o.loraPrecision()).as(o.toString()).isEqualTo(
                            quantized && lora == LoraKernel.NATIVE ? Precision.FP16 : Precision.FP32);
                }
            }
        }
    }

    @Test
    void theCpuFlagsAreReadFromTheKernel() {
        assumeTrue(QuiverOps.platform().equals("linux-x86_64"), "reads the flags lines of /proc/cpuinfo (x86)");
        assertThat(QuiverOps.cpuHas("fpu")).isTrue();
        assertThat(QuiverOps.cpuHas("no_such_flag")).isFalse();
        assertThat(QuiverOps.cpuHas("fpu", "no_such_flag")).as("every flag named").isFalse();
    }
}
