package dev.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuiverCliTest {
    @TempDir
    Path dir;

    @Test
    void initDemoWritesAModelThatInspectLoads() throws Exception {
        Path model = dir.resolve("m");
        Result made = run("model", "init-demo", "--out", model.toString(), "--arch", "qwen3", "--size", "tiny");
        assertThat(made.code).isZero();
        assertThat(made.out).contains("Qwen3ForCausalLM tiny").contains("parameters");
        assertThat(model.resolve("config.json")).exists();
        assertThat(model.resolve("tokenizer_config.json")).exists();

        Result inspected = run("model", "inspect", model.toString());
        assertThat(inspected.code).isZero();
        assertThat(inspected.out).contains("Qwen3ForCausalLM").contains("q/k norm true").contains("(bfloat16)");
    }

    @Test
    void badArgumentsGiveOneLineErrorsWithoutStackTraces() throws Exception {
        Result bad = run("model", "init-demo", "--out", dir.resolve("x").toString(), "--arch", "gpt2");
        assertThat(bad.code).isEqualTo(1);
        assertThat(bad.err).contains("error: --arch: unknown 'gpt2', expected qwen3 or llama").doesNotContain("\tat ");

        Result missing = run("model", "inspect", dir.resolve("nope").toString());
        assertThat(missing.code).isEqualTo(1);
        assertThat(missing.err).contains("config.json").doesNotContain("\tat ");
        assertThat(Files.exists(dir.resolve("x"))).isFalse();
    }

    @Test
    void anUnknownQuantizationIsRefusedNamingTheAcceptedOnes() {
        for (String command : new String[] {"server", "serve"}) {
            Result bad = run(command, "--quantize", "int3", "--data-dir", dir.resolve("data").toString());
            assertThat(bad.code).as(command).isEqualTo(2);
            assertThat(bad.err).as(command).contains("--quantize")
                    .contains("quantize must be one of none, int8, int4; got 'int3'").doesNotContain("\tat ");
        }
        assertThat(Files.exists(dir.resolve("data"))).isFalse();
    }

    @Test
    void adapterValidateReportsAMismatch() throws Exception {
        Path model = dir.resolve("m");
        assertThat(run("model", "init-demo", "--out", model.toString(), "--size", "tiny").code).isZero();
        Path adapter = Files.createDirectories(dir.resolve("a"));
        Files.writeString(adapter.resolve("adapter_config.json"),
                "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"],\"use_dora\":true}");
        Result r = run("adapter", "validate", "--base-model", model.toString(), adapter.toString());
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains("DoRA");
    }

    @Test
    void benchServeOnCudaWithTheCpuBuildSaysWhatToInstall() throws Exception {
        Result r = run("bench", "serve", "--size", "tiny", "--adapters", "0", "--concurrency", "1", "--prompt-len",
                "4", "--gen-len", "2", "--threads", "1", "--execution-provider", "cuda", "--work-dir", dir.toString());
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).contains("error: execution provider cuda needs the onnxruntime_gpu build (mvn -Pgpu ...)")
                .contains("this build has [CPU]").doesNotContain("\tat ");

        Result typo = run("bench", "serve", "--execution-provider", "cuda0", "--work-dir", dir.toString());
        assertThat(typo.code).isEqualTo(1);
        assertThat(typo.err).contains("execution provider must be cpu, cuda or cuda:N").contains("'cuda0'");
    }

    private record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = QuiverCli.run(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
