package dev.quiver.adapters.tokenizer.jinja;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PythonJsonTest {

    @Test
    void formatsFloatsLikePythonRepr() {
        // Expected values are Python 3's repr() of the same floats.
        assertThat(PythonJson.pythonFloat(0.1)).isEqualTo("0.1");
        assertThat(PythonJson.pythonFloat(2.5)).isEqualTo("2.5");
        assertThat(PythonJson.pythonFloat(100.0)).isEqualTo("100.0");
        assertThat(PythonJson.pythonFloat(0.0001)).isEqualTo("0.0001");
        assertThat(PythonJson.pythonFloat(1e-05)).isEqualTo("1e-05");
        assertThat(PythonJson.pythonFloat(-3.25e-7)).isEqualTo("-3.25e-07");
        assertThat(PythonJson.pythonFloat(123456789.0)).isEqualTo("123456789.0");
        assertThat(PythonJson.pythonFloat(1234567890123456.0)).isEqualTo("1234567890123456.0");
        assertThat(PythonJson.pythonFloat(1e16)).isEqualTo("1e+16");
        assertThat(PythonJson.pythonFloat(1.5e300)).isEqualTo("1.5e+300");
        assertThat(PythonJson.pythonFloat(-0.0)).isEqualTo("-0.0");
        assertThat(PythonJson.pythonFloat(Double.NaN)).isEqualTo("NaN");
    }

    @Test
    void escapesStringsLikeJsonDumpsWithoutEnsureAscii() {
        assertThat(PythonJson.dumps("a\"b\\c\n\r\t\b\f\u001f\u007f é 🎉", null, false))
                .isEqualTo("\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u001f\u007f é 🎉\"");
    }

    @Test
    void writesNestedValuesWithPythonSeparators() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("z", 1L);
        map.put("a", java.util.Arrays.asList("x", null, false, 1.5f));
        map.put("m", Map.of());

        assertThat(PythonJson.dumps(map, null, false)).isEqualTo("{\"z\": 1, \"a\": [\"x\", null, false, 1.5], \"m\": {}}");
        assertThat(PythonJson.dumps(map, null, true)).isEqualTo("{\"a\": [\"x\", null, false, 1.5], \"m\": {}, \"z\": 1}");
        assertThat(PythonJson.dumps(List.of(), 2, false)).isEqualTo("[]");
    }

    @Test
    void rejectsValuesPythonCouldNotSerialise() {
        assertThatThrownBy(() -> PythonJson.dumps(new Object(), null, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tojson cannot serialise a java.lang.Object");
    }
}
