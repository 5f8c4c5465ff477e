package dev.quiver.serving.constraint;

import static dev.quiver.serving.constraint.IndependentValidator.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SchemaCompilerTest {
    /** Every single byte, then tokens that merge bytes: a whole "é", its two halves' neighbours, whitespace runs. */
    private static final List<String> MERGED = List.of("é", "{\"", "\":", "\",\"", "  ", "\n\n", " \"", "日本",
            "billing", "true", "null", "12", "-0", "\"}");
    private static final int EOS;
    private static final TokenVocabulary VOCAB;

    static {
        List<byte[]> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(new byte[] {(byte) b});
        }
        MERGED.forEach(t -> tokens.add(t.getBytes(StandardCharsets.UTF_8)));
        // the first two of the three bytes of 日: a token that ends inside a character
        tokens.add(new byte[] {(byte) 0xE6, (byte) 0x97});
        EOS = tokens.size();
        tokens.add(null);
        VOCAB = new TokenVocabulary(tokens.size(), tokens.toArray(new byte[0][]), Set.of(EOS));
    }

    private static final String TICKET = """
            {"type": "object", "properties": {
              "team": {"enum": ["billing", "tech", "sales"]},
              "summary": {"type": "string", "maxLength": 12},
              "priority": {"type": "integer"},
              "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3}},
             "required": ["team", "summary", "priority"], "additionalProperties": false}""";

    private final Constraints constraints = new Constraints(VOCAB);
    private final IndependentValidator validator = new IndependentValidator();

    @Test
    void everySampledTextValidatesAgainstTheSchema() {
        List<String> battery = List.of(TICKET,
                "{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 4}",
                "{\"type\": \"string\", \"pattern\": \"^[A-Z]{3}-\\\\d{1,4}$\"}",
                "{\"type\": \"string\", \"format\": \"date\"}",
                "{\"type\": \"string\", \"format\": \"date-time\"}",
                "{\"type\": \"string\", \"format\": \"email\"}",
                "{\"type\": \"string\", \"format\": \"uuid\"}",
                "{\"type\": [\"integer\", \"null\"]}",
                "{\"type\": \"number\"}",
                "{\"type\": \"boolean\"}",
                "{\"const\": {\"a\": [1, \"日本\"]}}",
                "{\"enum\": [\"é\", 3, null, \"emoji \uD83D\uDE00\"]}",
                "{\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"number\"}]}",
                "{\"anyOf\": [{\"type\": \"string\", \"maxLength\": 2}, {\"type\": \"array\", \"items\":"
                        + " {\"type\": \"boolean\"}, \"minItems\": 1, \"maxItems\": 2}]}",
                "{\"$defs\": {\"p\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\"}},"
                        + " \"required\": [\"x\"]}}, \"type\": \"object\", \"properties\": {\"a\": {\"$ref\":"
                        + " \"#/$defs/p\"}, \"b\": {\"$ref\": \"#/$defs/p\"}}, \"required\": [\"a\"]}");
        Random random = new Random(7);
        for (String s : battery) {
            JsonNode schema = json(s);
            TokenConstraint c = constraints.schema(schema, "schema");
            for (int i = 0; i < 100; i++) {
                String text = sample(c, random);
                assertThat(validator.problems(schema, text)).as("%s for %s", text, s).isEmpty();
            }
        }
    }

    @Test
    void rejectsTextThatBreaksEachKeyword() {
        assertAccepts(TICKET, "{\"team\":\"tech\",\"summary\":\"é日\",\"priority\":-3,\"tags\":[\"a\",\"\"]}");
        assertRejects(TICKET, "{\"team\":\"legal\",\"summary\":\"\",\"priority\":1}");               // enum
        assertRejects(TICKET, "{\"team\":\"tech\",\"priority\":1}");                                  // required
        assertRejects(TICKET, "{\"team\":\"tech\",\"summary\":\"\",\"priority\":1,\"x\":1}");        // additional
        assertRejects(TICKET, "{\"team\":\"tech\",\"summary\":\"\",\"priority\":1.5}");              // integer
        assertRejects(TICKET, "{\"team\":\"tech\",\"summary\":\"0123456789abc\",\"priority\":1}");   // maxLength
        assertRejects(TICKET, "{\"team\":\"tech\",\"summary\":\"\",\"priority\":1,\"tags\":[\"a\",\"b\",\"c\","
                + "\"d\"]}");                                                                         // maxItems
        assertRejects(TICKET, "{ \"team\":\"tech\",\"summary\":\"\",\"priority\":1}");               // compact
        String s = "{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 3}";
        assertAccepts(s, "\"éé\"");
        assertRejects(s, "\"é\"");
        assertRejects(s, "\"éééé\"");
        String pattern = "{\"type\": \"string\", \"pattern\": \"^[A-Z]{3}-\\\\d+$\"}";
        assertAccepts(pattern, "\"ABC-12\"");
        assertRejects(pattern, "\"AB-12\"");
        String date = "{\"type\": \"string\", \"format\": \"date\"}";
        assertAccepts(date, "\"2024-02-28\"");
        assertRejects(date, "\"2024-02-30\"");
        assertRejects(date, "\"2024-13-01\"");
        String uuid = "{\"format\": \"uuid\"}";
        assertAccepts(uuid, "\"123e4567-e89b-42d3-a456-426614174000\"");
        assertRejects(uuid, "\"123e4567-e89b-42d3-a456\"");
        String items = "{\"type\": \"array\", \"items\": {\"type\": \"boolean\"}, \"minItems\": 2}";
        assertAccepts(items, "[true,false,true]");
        assertRejects(items, "[true]");
        assertRejects(items, "[true,1]");
        String oneOf = "{\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"number\"}]}";
        assertAccepts(oneOf, "1.5");
        assertRejects(oneOf, "1");                                                                  // matches both
        assertAccepts("{\"type\": [\"string\", \"null\"]}", "null");
        assertRejects("{\"type\": [\"string\", \"null\"]}", "0");
        assertAccepts("{\"const\": \"a\\\"b\"}", "\"a\\\"b\"");
    }

    @Test
    void aTokenMayEndInsideAMultiByteCharacter() {
        TokenConstraint c = constraints.schema(json("{\"enum\": [\"日本\", \"é\"]}"), "schema");
        ConstraintState st = c.start();
        st.advance(token("\""));
        assertThat(allowed(st)).contains(id(new byte[] {(byte) 0xE6, (byte) 0x97}), token("日本"), token("é"),
                0xE6, 0xC3).doesNotContain(EOS, (int) 'a');
        st.advance(id(new byte[] {(byte) 0xE6, (byte) 0x97}));
        assertThat(allowed(st)).containsExactly(0xA5);
        st.advance(0xA5);
        assertThat(allowed(st)).containsExactly(0xE6);
    }

    @Test
    void compactOutputRefusesMergedWhitespaceAndEndsOnlyWhenComplete() {
        TokenConstraint c = constraints.schema(json(TICKET), "schema");
        ConstraintState st = c.start();
        assertThat(allowed(st)).containsExactlyInAnyOrder((int) '{', token("{\""));
        for (String piece : List.of("{\"", "team", "\":", "\"", "billing", "\",\"", "summary", "\":", "\"",
                "\",\"", "priority", "\":", "12")) {
            assertThat(st.accepting()).isFalse();
            if (MERGED.contains(piece)) {
                st.advance(token(piece));
            } else {
                piece.chars().forEach(st::advance);
            }
        }
        assertThat(allowed(st)).doesNotContain(EOS, token("  "), token("\n\n"), token(" \"")).contains((int) '}');
        st.advance('}');
        assertThat(st.complete()).isTrue();
        assertThat(allowed(st)).containsExactly(EOS);
    }

    @Test
    void aBadSchemaNamesTheKeywordAndItsPathAndCachesNothing() {
        assertThatThrownBy(() -> constraints.schema(json("{\"type\": \"object\", \"properties\": {\"a\":"
                + " {\"type\": \"string\", \"foo\": 1}}}"), "schema"))
                .isInstanceOf(ConstraintException.class)
                .hasMessageContaining("schema.properties.a.foo")
                .hasMessageContaining("'foo' is not supported")
                .extracting(e -> ((ConstraintException) e).keyword()).isEqualTo("foo");
        assertThatThrownBy(() -> constraints.schema(json("{\"type\": \"wat\"}"), "schema"))
                .hasMessageStartingWith("schema.type: unknown type \"wat\"");
        assertThatThrownBy(() -> constraints.schema(json("{\"$defs\": {\"n\": {\"type\": \"object\","
                + " \"properties\": {\"next\": {\"$ref\": \"#/$defs/n\"}}}}, \"$ref\": \"#/$defs/n\"}"), "schema"))
                .hasMessageContaining("recursive $ref '#/$defs/n'")
                .extracting(e -> ((ConstraintException) e).keyword()).isEqualTo("$ref");
        assertThatThrownBy(() -> constraints.schema(json("{\"type\": \"integer\", \"minimum\": 0}"), "schema"))
                .hasMessageStartingWith("schema.minimum: keyword 'minimum' is not supported");
        assertThatThrownBy(() -> constraints.schema(json("{\"type\": \"string\", \"pattern\": \"(?=a)b\"}"), "s"))
                .hasMessageStartingWith("s.pattern: ");
        assertThat(constraints.cached()).isZero();
    }

    @Test
    void compilesOnceForTheSameCanonicalText() {
        TokenConstraint a = constraints.schema(json(TICKET), "schema");
        TokenConstraint b = constraints.schema(json(TICKET.replace("\n", " ").replace("  ", " ")), "schema");
        assertThat(b).isSameAs(a);
        assertThat(constraints.cached()).isEqualTo(1);
    }

    @Test
    void choicesAndRegexesConstrainPlainText() {
        Random random = new Random(3);
        TokenConstraint choice = constraints.choice(List.of("billing", "tech", "日本"), "guided_choice");
        TokenConstraint regex = constraints.regex("(yes|no)-[0-9]{2}", "guided_regex");
        for (int i = 0; i < 50; i++) {
            assertThat(sample(choice, random)).isIn("billing", "tech", "日本");
            assertThat(sample(regex, random)).matches("(yes|no)-[0-9]{2}");
        }
        assertThatThrownBy(() -> constraints.regex("a(b", "guided_regex")).hasMessageContaining("guided_regex");
    }

    private void assertAccepts(String schema, String text) {
        assertThat(constraints.schema(json(schema), "schema").dfa().matches(text)).as(text).isTrue();
        assertThat(validator.problems(json(schema), text)).isEmpty();
    }

    private void assertRejects(String schema, String text) {
        assertThat(constraints.schema(json(schema), "schema").dfa().matches(text)).as(text).isFalse();
    }

    /** A random walk: random logits, masked, the best kept, until the end token or a complete value. */
    static String sample(TokenConstraint c, Random random) {
        ConstraintState st = c.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int step = 0; step < 5000; step++) {
            float[] logits = new float[VOCAB.size()];
            for (int v = 0; v < logits.length; v++) {
                logits[v] = (float) random.nextGaussian();
            }
            st.apply(logits);
            int best = 0;
            for (int v = 1; v < logits.length; v++) {
                if (logits[v] > logits[best]) {
                    best = v;
                }
            }
            if (best == EOS) {
                return out.toString(StandardCharsets.UTF_8);
            }
            st.advance(best);
            out.writeBytes(VOCAB.bytes(best));
            if (st.complete()) {
                return out.toString(StandardCharsets.UTF_8);
            }
        }
        throw new AssertionError("no value after 5000 tokens: " + out.toString(StandardCharsets.UTF_8));
    }

    private static List<Integer> allowed(ConstraintState st) {
        float[] logits = new float[VOCAB.size()];
        st.apply(logits);
        List<Integer> out = new ArrayList<>();
        for (int v = 0; v < logits.length; v++) {
            if (logits[v] == 0) {
                out.add(v);
            }
        }
        return out;
    }

    private static int token(String text) {
        return id(text.getBytes(StandardCharsets.UTF_8));
    }

    private static int id(byte[] bytes) {
        for (int v = 0; v < VOCAB.size(); v++) {
            if (java.util.Arrays.equals(VOCAB.bytes(v), bytes)) {
                return v;
            }
        }
        throw new IllegalArgumentException("no token " + new String(bytes, StandardCharsets.UTF_8));
    }
}
