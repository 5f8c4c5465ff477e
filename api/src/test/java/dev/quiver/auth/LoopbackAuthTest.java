package dev.quiver.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.models.Model;
import dev.quiver.e2e.TinyModelServer;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A loopback server without required keys, as the official OpenAI SDK meets it: the SDK's dummy key is ignored. */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LoopbackAuthTest implements TestPropertyProvider {
    @Inject
    EmbeddedServer server;

    @Inject
    @Client("/")
    HttpClient client;

    @Override
    public Map<String, String> getProperties() {
        Map<String, String> properties = new HashMap<>(TinyModelServer.properties("quiver-auth-loopback"));
        properties.put("micronaut.server.host", "127.0.0.1");
        return properties;
    }

    @Test
    void theOpenAiSdkWithADummyKeyListsModelsAndChats() {
        OpenAIClient openai = openai("sk-dummy");
        try {
            assertThat(openai.models().list().data()).extracting(Model::id).contains("qwen3-tiny");

            ChatCompletion completion = openai.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model("qwen3-tiny").addUserMessage("hello").maxTokens(3).seed(1).build());

            assertThat(completion.choices()).hasSize(1);
            assertThat(completion.choices().get(0).message().content()).isPresent();
            assertThat(completion.usage().orElseThrow().completionTokens()).isBetween(1L, 3L);
        } finally {
            openai.close();
        }
    }

    @Test
    void aWrongQuiverKeyIsStillRefusedOnLoopback() {
        String wrong = ApiKeyService.KEY_PREFIX + "x".repeat(43);
        OpenAIClient openai = openai(wrong);
        try {
            assertThatThrownBy(() -> openai.models().list()).isInstanceOf(UnauthorizedException.class);
        } finally {
            openai.close();
        }
        HttpClientResponseException refused = catchThrowableOfType(HttpClientResponseException.class,
                () -> client.toBlocking().retrieve(HttpRequest.GET("/v1/files").bearerAuth(wrong)));
        assertThat(refused.getStatus().getCode()).isEqualTo(401);
        assertThat(refused.getResponse().getBody(String.class).orElseThrow()).contains("Incorrect API key")
                .doesNotContain(wrong);
    }

    @Test
    void noKeyAtAllActsInTheDefaultProject() {
        assertThat(client.toBlocking().retrieve("/v1/files")).contains("\"object\":\"list\"");
    }

    private OpenAIClient openai(String apiKey) {
        return OpenAIOkHttpClient.builder().apiKey(apiKey).baseUrl(server.getURL() + "/v1").maxRetries(0).build();
    }
}
