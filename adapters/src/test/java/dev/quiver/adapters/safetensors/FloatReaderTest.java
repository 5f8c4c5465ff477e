package dev.quiver.adapters.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FloatReaderTest {
    /** Elements of a tensor spanning a few of the reader's chunks even in F32, with a partial chunk at the end. */
    private static final int LONG = FloatReader.CHUNK_BYTES / 4 * 2 + FloatReader.CHUNK_BYTES / 8 + 3;

    @TempDir
    Path dir;

    @Test
    void readsTheValuesOfTheMappedViewInEveryFloatDtype() throws IOException {
        Path file = dir.resolve("t.safetensors");
        float[] values = new float[LONG];
        Random random = new Random(7);
        for (int i = 0; i < LONG; i++) {
            values[i] = (float) (random.nextGaussian() * 3);
        }
        List<DType> dtypes = List.of(DType.F32, DType.F16, DType.BF16);
        SafetensorsWriter.write(file, dtypes.stream()
                .map(d -> Tensor.ofFloats("w." + d, d, new long[] {LONG}, values)).toList(), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (DType d : dtypes) {
                float[] mapped = f.tensor("w." + d).toFloats();
                FloatReader reader = f.floatReader("w." + d);
                assertThat(reader.info()).isEqualTo(f.tensors().get("w." + d));
                // ascending requests of an odd size, which cross chunk boundaries
                float[] streamed = new float[LONG];
                for (int from = 0; from < LONG; from += 1001) {
                    reader.read(from, streamed, from, Math.min(1001, LONG - from));
                }
                assertThat(streamed).as("%s read in ascending requests", d).isEqualTo(mapped);
                // one request for the whole tensor, then requests that go back and jump ahead
                float[] whole = new float[LONG + 2];
                reader.read(0, whole, 2, LONG);
                assertThat(Arrays.copyOfRange(whole, 2, LONG + 2)).as("%s in one request", d)
                        .isEqualTo(mapped);
                for (int from : new int[] {LONG - 5, 3, FloatReader.CHUNK_BYTES / 2 - 1, 0}) {
                    float[] part = new float[5];
                    reader.read(from, part, 0, 5);
                    assertThat(part).as("%s from %d", d, from)
                            .containsExactly(Arrays.copyOfRange(mapped, from, from + 5));
                }
            }
        }
    }

    @Test
    void readsTheFirstAndLastElementsAndRefusesRangesOutsideTheTensor() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(
                Tensor.ofFloats("before", DType.F32, new long[] {2}, new float[] {9, 9}),
                Tensor.ofFloats("m", DType.BF16, new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}),
                Tensor.ofFloats("after", DType.F32, new long[] {1}, new float[] {9})), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            FloatReader reader = f.floatReader("m");
            float[] one = new float[1];
            reader.read(5, one, 0, 1);
            assertThat(one).containsExactly(6);
            reader.read(0, one, 0, 1);
            assertThat(one).containsExactly(1);
            reader.read(6, one, 0, 0);
            assertThatThrownBy(() -> reader.read(4, new float[3], 0, 3)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("tensor 'm' has 6 elements; cannot read 3 from element 4");
            assertThatThrownBy(() -> reader.read(-1, one, 0, 1)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void aFileTruncatedAfterOpeningIsAnErrorNamingFileAndTensor() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(
                Tensor.ofFloats("a", DType.F32, new long[] {4}, new float[] {1, 2, 3, 4}),
                Tensor.ofFloats("b", DType.F32, new long[] {LONG}, new float[LONG])), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() - 10);
            }
            float[] a = new float[4];
            f.floatReader("a").read(0, a, 0, 4);
            assertThat(a).containsExactly(1, 2, 3, 4);
            FloatReader b = f.floatReader("b");
            b.read(0, new float[100], 0, 100);
            assertThatThrownBy(() -> b.read(LONG - 1, new float[1], 0, 1)).isInstanceOf(SafetensorsException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("tensor 'b'")
                    .hasMessageContaining("unexpected end of file").hasMessageContaining("truncated");
        }
    }

    @Test
    void refusesAnIntegerTensorNamingFileAndTensor() throws IOException {
        Path file = dir.resolve("i.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(
                new SafetensorsWriter.Spec("ids", DType.I64, new long[] {1})), Map.of())) {
            w.writeBytes("ids", ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 7));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThatThrownBy(() -> f.floatReader("ids")).isInstanceOf(SafetensorsException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("tensor 'ids' is I64")
                    .hasMessageContaining("not a floating-point tensor");
            assertThatThrownBy(() -> f.floatReader("nope")).hasMessageContaining("no tensor named 'nope'");
        }
    }

    @Test
    void aShardedCheckpointReadsEachTensorFromItsShard() throws IOException {
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"),
                List.of(Tensor.ofFloats("a", DType.F32, new long[] {2}, new float[] {1, 2})), Map.of());
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"),
                List.of(Tensor.ofFloats("b", DType.F16, new long[] {2}, new float[] {3, -0.5f})), Map.of());
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{"
                + "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
        try (Checkpoint c = Checkpoint.open(dir)) {
            float[] out = new float[4];
            c.floatReader("a").read(0, out, 0, 2);
            c.floatReader("b").read(0, out, 2, 2);
            assertThat(out).containsExactly(1, 2, 3, -0.5f);
            assertThatThrownBy(() -> c.floatReader("c")).hasMessageContaining("tensor 'c' is not in the checkpoint");
        }
    }
}
