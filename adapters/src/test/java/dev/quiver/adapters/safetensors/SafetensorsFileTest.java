package dev.quiver.adapters.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsFloatTensorsInEveryFloatDtype() throws IOException {
        float[] values = {1f, -2.5f, 0.15625f, 3e-3f, 65504f, -0f};
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(
                Tensor.ofFloats("a.f32", DType.F32, new long[] {2, 3}, values),
                Tensor.ofFloats("b.bf16", DType.BF16, new long[] {6}, values),
                Tensor.ofFloats("c.f16", DType.F16, new long[] {3, 2}, values)), Map.of("format", "pt"));

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertThat(f.tensors().keySet()).containsExactly("a.f32", "b.bf16", "c.f16");
            assertThat(f.tensor("a.f32").toFloats()).containsExactly(values);
            assertThat(f.tensor("a.f32").shape()).containsExactly(2, 3);
            float[] bf = f.tensor("b.bf16").toFloats();
            for (int i = 0; i < values.length; i++) {
                assertThat(bf[i]).isCloseTo(values[i], org.assertj.core.data.Offset.offset(Math.abs(values[i]) / 128));
            }
            assertThat(f.tensor("c.f16").toFloats()).containsExactly(1f, -2.5f, 0.15625f,
                    DType.f16ToFloat(DType.floatToF16(3e-3f)), 65504f, -0f);
        }
    }

    @Test
    void dataStartIsEightByteAlignedAndCoveredExactly() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(Tensor.ofFloats("x", DType.F32, new long[] {3}, new float[] {1, 2, 3})),
                Map.of());
        byte[] bytes = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLen % 8).isZero();
        assertThat(bytes.length).isEqualTo(8 + headerLen + 12);
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        assertThat(header.strip()).isEqualTo("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}");
    }

    @Test
    void convertsHalfPrecisionExactlyAndRoundsToNearestEven() {
        assertThat(DType.floatToF16(1f)).isEqualTo((short) 0x3c00);
        assertThat(DType.floatToF16(65504f)).isEqualTo((short) 0x7bff);
        assertThat(DType.floatToF16(1e6f)).isEqualTo((short) 0x7c00);
        assertThat(DType.f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(DType.floatToF16(0x1p-24f)).isEqualTo((short) 0x0001);
        assertThat(DType.f16ToFloat((short) 0xc000)).isEqualTo(-2f);
        // 1 + 2^-8 lies exactly between two bf16 values: ties go to the even mantissa (1.0)
        assertThat(DType.floatToBf16(1f + 0x1p-8f)).isEqualTo((short) 0x3f80);
        assertThat(DType.floatToBf16(1f + 0x1p-8f + 0x1p-20f)).isEqualTo((short) 0x3f81);
        assertThat(DType.bf16ToFloat((short) 0x3f81)).isEqualTo(1f + 0x1p-7f);
        for (int bits = 0; bits < 0x7c00; bits += 7) {
            assertThat(DType.floatToF16(DType.f16ToFloat((short) bits))).isEqualTo((short) bits);
        }
    }

    @Test
    void readsIntegerTensors() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(16 + 8).order(ByteOrder.LITTLE_ENDIAN);
        data.putLong(7).putLong(-3).putInt(5).putInt(9).flip();
        Path file = dir.resolve("i.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(
                new SafetensorsWriter.Spec("ids", DType.I64, new long[] {2}),
                new SafetensorsWriter.Spec("small", DType.I32, new long[] {2})), Map.of())) {
            w.writeBytes("ids", data.slice(0, 16));
            w.writeBytes("small", data.slice(16, 8));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.tensor("ids").toLongs()).containsExactly(7, -3);
            assertThat(f.tensor("small").toLongs()).containsExactly(5, 9);
        }
    }

    @Test
    void incompleteWriteLeavesNothingBehind() throws IOException {
        Path file = dir.resolve("partial.safetensors");
        assertThatThrownBy(() -> {
            try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(
                    new SafetensorsWriter.Spec("a", DType.F32, new long[] {4}),
                    new SafetensorsWriter.Spec("b", DType.F32, new long[] {4})), Map.of())) {
                w.writeFloats("a", new float[] {1, 2, 3, 4});
            }
        }).isInstanceOf(IllegalStateException.class).hasMessageContaining("incomplete").hasMessageContaining("'b'");
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void writerRefusesTensorsOutOfDeclaredOrderOrOverfull() throws IOException {
        Path file = dir.resolve("w.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(
                new SafetensorsWriter.Spec("a", DType.F32, new long[] {2})), Map.of())) {
            assertThatThrownBy(() -> w.writeFloats("b", new float[] {1, 2})).hasMessageContaining("expected tensor 'a'");
            assertThatThrownBy(() -> w.writeFloats("a", new float[] {1, 2, 3})).hasMessageContaining("only 8 remain");
            w.writeFloats("a", new float[] {1, 2});
        }
        assertThat(file).exists();
    }

    @Test
    void rejectsFileShorterThanTheLengthPrefix() throws IOException {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(file)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("truncated");
    }

    @Test
    void rejectsOversizedHeaderLength() throws IOException {
        Path file = dir.resolve("huge.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).putLong(0);
        Files.write(file, b.array());
        assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("header length 1099511627776");
    }

    @Test
    void rejectsHeaderLongerThanTheFile() throws IOException {
        Path file = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, 20));
        assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("exceeds the file size")
                .hasMessageContaining("truncated");
    }

    @Test
    void rejectsTruncatedData() throws IOException {
        Path file = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 10);
        assertThatThrownBy(() -> SafetensorsFile.open(file)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("tensor 'w'").hasMessageContaining("beyond the data section");
    }

    @Test
    void rejectsOverlappingTensors() throws IOException {
        Path file = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("tensor 'b'")
                .hasMessageContaining("overlap");
    }

    @Test
    void rejectsByteCountThatDisagreesWithShape() throws IOException {
        Path file = raw("{\"m\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16);
        assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("tensor 'm'")
                .hasMessageContaining("16 bytes do not match shape [2, 2] of BF16 (8 bytes)");
    }

    @Test
    void rejectsUnsupportedDtypeNamingTheTensor() throws IOException {
        Path file = raw("{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4);
        assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("tensor 'q'")
                .hasMessageContaining("F8_E4M3");
    }

    @Test
    void rejectsUnindexedTrailingBytes() throws IOException {
        Path file = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8);
        assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("trailing bytes");
    }

    @Test
    void rejectsHeaderThatIsNotJson() throws IOException {
        Path file = raw("{not json", 0);
        assertThatThrownBy(() -> SafetensorsFile.open(file)).hasMessageContaining("not valid JSON");
    }

    @Test
    void readsShardedCheckpointThroughTheIndex() throws IOException {
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"),
                List.of(Tensor.ofFloats("a", DType.F32, new long[] {2}, new float[] {1, 2})), Map.of());
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"),
                List.of(Tensor.ofFloats("b", DType.BF16, new long[] {1}, new float[] {3})), Map.of());
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"metadata\":{\"total_size\":10},\"weight_map\":{"
                + "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThat(c.names()).containsExactly("a", "b");
            assertThat(c.tensor("a").toFloats()).containsExactly(1, 2);
            assertThat(c.tensor("b").toFloats()).containsExactly(3);
            assertThat(c.info("b").dtype()).isEqualTo(DType.BF16);
        }
    }

    @Test
    void rejectsIndexThatPointsToTheWrongShard() throws IOException {
        SafetensorsWriter.write(dir.resolve("s1.safetensors"),
                List.of(Tensor.ofFloats("a", DType.F32, new long[] {1}, new float[] {1})), Map.of());
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{\"zzz\":\"s1.safetensors\"}}");
        assertThatThrownBy(() -> Checkpoint.open(dir)).hasMessageContaining("'zzz'")
                .hasMessageContaining("s1.safetensors");
    }

    @Test
    void rejectsShardNameThatEscapesTheModelDirectory() throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{\"a\":\"../other.safetensors\"}}");
        assertThatThrownBy(() -> Checkpoint.open(dir)).hasMessageContaining("plain file name");
    }

    private Path raw(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path file = dir.resolve("raw.safetensors");
        Files.write(file, b.array());
        return file;
    }
}
