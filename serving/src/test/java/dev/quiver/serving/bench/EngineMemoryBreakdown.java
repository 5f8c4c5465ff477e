package dev.quiver.serving.bench;

import dev.quiver.adapters.bench.ProcessMemory;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.serving.graph.Quantization;
import dev.quiver.serving.runtime.EngineSettings;
import dev.quiver.serving.runtime.InferenceEngine;
import dev.quiver.serving.runtime.SamplingParams;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.ObjectName;

/**
 * What the resident memory of a just-opened engine is made of: the serve benchmark's C=1 engine (one adapter
 * slot, 2 threads) opened from the work dir's graph cache, then {@code /proc/self/smaps} summed by mapping
 * (anonymous memory, the graph cache's {@code weights.bin} that ONNX Runtime maps, shared libraries) and the
 * JVM's own share from Native Memory Tracking (heap, GC structures, direct buffers: the KV cache and the LoRA
 * pools, the rest of the JVM). Anonymous memory outside the JVM's share is ONNX Runtime's: the prepacked weights
 * and the session. Not a test: run by hand with {@code -XX:NativeMemoryTracking=summary},
 * {@code EngineMemoryBreakdown WORK_DIR qwen3-0.6b none|int8|int4 [REQUESTS]} (the model and a graph-cache entry
 * are made on the first run). With REQUESTS, that many greedy requests (128-token prompt, 64 generated) run first,
 * so the weights a step reads are resident, as after the serve benchmark's base phase.
 */
public final class EngineMemoryBreakdown {
    private static final double MB = 1 << 20;

    private EngineMemoryBreakdown() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        DemoSize size = DemoSize.parse(args[1]);
        Quantization quantization = Quantization.parse(args[2]);
        Path model = ServeBenchmark.demoModel(work, size);
        EngineSettings settings = EngineSettings.builder().optMaxBatch(1).optMaxSequenceLength(128 + 64 + 1)
                .optLoraSlots(1).optMaxLoraRank(16).optQuantization(quantization).optThreads(2)
                .optGraphCacheDir(work.resolve("graph-cache")).build();
        int requests = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        try (InferenceEngine engine = InferenceEngine.open(model, settings)) {
            int[] prompt = new int[128];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 3 + 7 * i;
            }
            for (int r = 0; r < requests; r++) {
                engine.generate(prompt, null, SamplingParams.greedy(64));
            }
            System.gc();
            Map<String, Double> mapped = residentByMapping();
            Map<String, Double> jvm = nativeMemoryTracking();
            double total = mapped.values().stream().mapToDouble(Double::doubleValue).sum();
            double anon = mapped.getOrDefault("anonymous", 0.0);
            double heap = jvm.getOrDefault("Java Heap", 0.0);
            double gc = jvm.getOrDefault("GC", 0.0);
            double direct = jvm.getOrDefault("Other", 0.0);
            double restOfJvm = jvm.entrySet().stream()
                    .filter(e -> !List.of("Java Heap", "GC", "Other").contains(e.getKey()))
                    .mapToDouble(Map.Entry::getValue).sum();
            System.out.printf("%s %s after %d requests: resident %.0f MB = anonymous %.0f + weights.bin mapped %.0f + libraries %.0f"
                            + " + other files %.0f%n", size.label(), quantization, requests, total, anon,
                    mapped.getOrDefault("weights.bin", 0.0), mapped.getOrDefault("libraries", 0.0),
                    mapped.getOrDefault("other files", 0.0));
            System.out.printf("  JVM (NMT committed): heap %.0f, GC %.0f, direct buffers (KV cache + LoRA pools) %.0f,"
                    + " rest %.0f; anonymous beyond the JVM's (ONNX Runtime) %.0f MB%n", heap, gc, direct, restOfJvm,
                    anon - heap - gc - direct - restOfJvm);
        }
    }

    // resident MB per kind of mapping
    private static Map<String, Double> residentByMapping() throws Exception {
        Map<String, Double> out = new LinkedHashMap<>();
        for (ProcessMemory.Mapping m : ProcessMemory.mappings()) {
            String path = m.path();
            String kind = path.isEmpty() || path.equals("[heap]") ? "anonymous"
                    : path.endsWith("weights.bin") ? "weights.bin"
                    : path.contains(".so") || path.endsWith(".jsa") || path.endsWith("/modules") ? "libraries"
                    : path.startsWith("[") ? "anonymous" : "other files";
            out.merge(kind, m.residentBytes() / MB, Double::sum);
        }
        return out;
    }

    // committed MB per NMT category
    private static Map<String, Double> nativeMemoryTracking() throws Exception {
        String summary = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
        Map<String, Double> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("-\\s+([A-Za-z ]+?) \\(reserved=\\d+KB, committed=(\\d+)KB").matcher(summary);
        while (m.find()) {
            out.put(m.group(1).trim(), Long.parseLong(m.group(2)) * 1024 / MB);
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no Native Memory Tracking summary: run with"
                    + " -XX:NativeMemoryTracking=summary");
        }
        return out;
    }
}
