package dev.quiver.declared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/** The declared file and the API keys file, read exactly as the Helm chart renders them. */
class DeclaredFileFormatTest {
    private static final Path CHART = Path.of("..", "helm", "quiver").toAbsolutePath().normalize();
    private static final String KEY = "qk-" + "b".repeat(43);

    @TempDir
    Path dir;

    @Test
    void theChartsDeclaredFileReadsAsTheDeclaredAdaptersAndTasks() throws Exception {
        Path values = Files.writeString(dir.resolve("values.yaml"), """
                adapters:
                  sentiment: {source: "sentiment@3", pinned: true}
                  invoices: {source: "/var/lib/quiver/imports/invoices"}
                  support: {source: "https://models.example.com/support.tar.gz?sig=abc", pinned: false}
                tasks:
                  classify_sentiment:
                    description: Classify the sentiment of a product review
                    adapter: sentiment
                    inputSchema:
                      type: object
                      properties: {text: {type: string}}
                      required: [text]
                apiKeys:
                  keys:
                    ci: {project: team-a, key: "%1$s"}
                    ops: {project: operators, key: "%1$sops", admin: true}
                """.formatted(KEY));
        List<Map<String, Object>> manifests = render(values);

        String quiverYml = data(manifests, "ConfigMap", "rel-quiver-config").get("quiver.yml");
        Map<String, Object> quiver = map(new Yaml().<Map<String, Object>>load(quiverYml).get("quiver"));
        String declaredPath = (String) map(quiver.get("declared")).get("file");
        String keysPath = (String) map(quiver.get("auth")).get("keys-file");
        assertThat(declaredPath).isEqualTo("/etc/quiver/declared/quiver-declared.yaml");
        assertThat(keysPath).isEqualTo("/etc/quiver/api-keys/api-keys.yaml");

        String declaredText = data(manifests, "ConfigMap", "rel-quiver-declared")
                .get(Path.of(declaredPath).getFileName().toString());
        DeclaredConfig config = DeclaredConfig.parse(declaredText, declaredPath);

        assertThat(config.adapters()).containsOnlyKeys("sentiment", "invoices", "support");
        assertThat(config.adapters().get("sentiment")).isEqualTo(new DeclaredAdapter("sentiment",
                new DeclaredSource.Registry("sentiment@3", "sentiment", 3), true));
        assertThat(config.adapters().get("invoices")).isEqualTo(new DeclaredAdapter("invoices",
                new DeclaredSource.VolumePath("/var/lib/quiver/imports/invoices",
                        Path.of("/var/lib/quiver/imports/invoices")), false));
        assertThat(config.adapters().get("support").source()).isEqualTo(new DeclaredSource.Url(
                "https://models.example.com/support.tar.gz?sig=abc",
                URI.create("https://models.example.com/support.tar.gz?sig=abc")));
        assertThat(config.pinned()).containsOnlyKeys("sentiment");
        DeclaredTask task = config.tasks().get("classify_sentiment");
        assertThat(task.description()).isEqualTo("Classify the sentiment of a product review");
        assertThat(task.adapter()).isEqualTo("sentiment");
        assertThat(task.inputSchema()).containsEntry("required", List.of("text"));
        assertThat(task.outputSchema()).isEmpty();

        String keysText = new String(Base64.getDecoder().decode(data(manifests, "Secret", "rel-quiver-api-keys")
                .get(Path.of(keysPath).getFileName().toString())), StandardCharsets.UTF_8);
        assertThat(ApiKeysFile.parse(keysText, keysPath)).containsExactly(
                new ApiKeysFile.Entry("ci", "team-a", KEY, false),
                new ApiKeysFile.Entry("ops", "operators", KEY + "ops", true));
    }

    @Test
    void nothingDeclaredIsAnEmptySet() throws Exception {
        Path values = Files.writeString(dir.resolve("values.yaml"), "adapters: {}\n");
        String text = data(render(values), "ConfigMap", "rel-quiver-declared").get("quiver-declared.yaml");

        assertThat(DeclaredConfig.parse(text, "f")).isEqualTo(DeclaredConfig.EMPTY);
        assertThat(DeclaredConfig.parse("", "f")).isEqualTo(DeclaredConfig.EMPTY);
    }

    @Test
    void anUnreadableSourceIsKeptAndExplainedNotDropped() throws Exception {
        DeclaredConfig config = DeclaredConfig.parse("""
                adapters:
                  a: {source: "sentiment@latest", pinned: true}
                  b: {source: "sentiment"}
                  c: {source: ""}
                """, "f");

        assertThat(config.adapters()).containsOnlyKeys("a", "b", "c");
        assertThat(config.adapters().get("a").source()).isInstanceOfSatisfying(DeclaredSource.Invalid.class,
                i -> assertThat(i.reason()).contains("version after '@' must be a registry version number"));
        assertThat(config.adapters().get("b").source()).isInstanceOfSatisfying(DeclaredSource.Invalid.class,
                i -> assertThat(i.reason()).contains("none of name@version, /path/on/the/volume, http(s)://url"));
        assertThat(config.adapters().get("c").source()).isInstanceOf(DeclaredSource.Invalid.class);
    }

    @Test
    void aFileOfTheWrongShapeIsRefusedNamingTheFileAndField() {
        assertThatThrownBy(() -> DeclaredConfig.parse("adapters:\n  a: {source: x@1, pined: true}\n", "/etc/d.yaml"))
                .isInstanceOf(DeclaredFileException.class)
                .hasMessage("/etc/d.yaml: unknown field 'adapters.a.pined', expected one of [pinned, source]");
        assertThatThrownBy(() -> DeclaredConfig.parse("adapters:\n  a: {source: x@1, pinned: yes please}\n", "f"))
                .hasMessageContaining("adapters.a.pinned must be true or false");
        assertThatThrownBy(() -> DeclaredConfig.parse("adapters: [a, b]\n", "f"))
                .hasMessageContaining("adapters must be a mapping keyed by name, got a list");
        assertThatThrownBy(() -> DeclaredConfig.parse("tasks:\n  t: {adapter: a}\n", "f"))
                .hasMessageContaining("tasks.t.description is required");
        assertThatThrownBy(() -> DeclaredConfig.parse("adapters: {a: [\n", "f"))
                .hasMessageStartingWith("f: not valid YAML");
    }

    @Test
    void aBrokenKeysFileNeverQuotesAKey() {
        assertThatThrownBy(() -> ApiKeysFile.parse("keys:\n  ci: {project: p, key: \"" + KEY + "\", extra: 1}\n", "k"))
                .hasMessage("k: keys.ci must be {project: PROJECT, key: qk-...} with an optional admin: true|false");
        String adminAsText = "keys:\n  ci: {project: p, key: \"" + KEY + "\", admin: \"true\"}\n";
        assertThatThrownBy(() -> ApiKeysFile.parse(adminAsText, "k"))
                .hasMessageContaining("keys.ci must be").message().doesNotContain(KEY);
        assertThatThrownBy(() -> ApiKeysFile.parse("keys: {ci: {project: p, key: \"" + KEY + "\"\n", "k"))
                .hasMessageStartingWith("k: not valid YAML").message().doesNotContain(KEY);
        assertThat(new ApiKeysFile.Entry("ci", "p", KEY, false).toString()).doesNotContain(KEY);
    }

    private static List<Map<String, Object>> render(Path values) {
        String yaml = new Helm(CHART).template().withName("rel").withNamespace("ml").withKubeVersion("v1.31.0")
                .withValuesFile(values).call();
        return StreamSupport.stream(new Yaml().loadAll(yaml).spliterator(), false)
                .filter(d -> d instanceof Map).map(DeclaredFileFormatTest::map).toList();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> data(List<Map<String, Object>> manifests, String kind, String name) {
        return (Map<String, String>) manifests.stream()
                .filter(m -> kind.equals(m.get("kind")) && name.equals(map(m.get("metadata")).get("name")))
                .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " " + name)).get("data");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }
}
