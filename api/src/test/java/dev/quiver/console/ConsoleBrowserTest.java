package dev.quiver.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.openqa.selenium.support.ui.ExpectedConditions.attributeToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.presenceOfElementLocated;
import static org.openqa.selenium.support.ui.ExpectedConditions.textToBePresentInElementLocated;

import dev.quiver.auth.ApiKeyService;
import dev.quiver.e2e.TicketData;
import dev.quiver.jobs.JobService;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.Select;

/**
 * The console in a real headless Chromium against a real server on the tiny model: a malformed upload shows
 * its line-numbered errors, a good one its statistics; a fine-tune started from the page draws its loss
 * chart point by point while it runs and succeeds; the playground streams the fine-tuned adapter's answer;
 * a task is created and invoked from its form; /docs lists the README's whole API. Throughout, no page
 * logs a JavaScript error and every resource comes from the Quiver server.
 */
@MicronautTest(transactional = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleBrowserTest implements TestPropertyProvider {
    private static final Duration STEP = Duration.ofSeconds(20);
    private static final Duration TRAINING = Duration.ofSeconds(240);

    @Inject
    EmbeddedServer server;

    @Inject
    ApiKeyService keys;

    @Inject
    JobService jobs;

    private HeadlessChromium chromium;
    private ChromeDriver driver;
    private String origin;
    private final Set<String> resources = new LinkedHashSet<>();

    @Override
    public Map<String, String> getProperties() {
        return dev.quiver.e2e.TinyModelServer.properties("quiver-console");
    }

    @BeforeAll
    void startBrowser() throws Exception {
        // CI installs Chromium (.ci/run) and sets QUIVER_TEST_BROWSER_REQUIRED: there a missing browser fails
        if (!"true".equals(System.getenv("QUIVER_TEST_BROWSER_REQUIRED"))) {
            Assumptions.assumeTrue(HeadlessChromium.installed(), "chromium and chromium-driver are not installed");
        }
        chromium = new HeadlessChromium();
        driver = chromium.driver();
        origin = server.getURL().toString().replaceAll("/$", "");
    }

    @AfterAll
    void stopBrowser() throws Exception {
        if (chromium != null) {
            chromium.close();
        }
    }

    @Test
    void theWholeLoopWorksFromTheConsole(@TempDir Path uploads) throws Exception {
        String key = keys.create("console", "browser test").key();
        open("/");
        driver.findElement(By.id("api-key")).sendKeys(key);
        driver.findElement(By.cssSelector("#key-form button[type=submit]")).click();
        chromium.waiting(STEP).until(presenceOfElementLocated(By.cssSelector("#task-list table")));

        // a malformed upload: every bad line is named on the page
        go("data");
        Path bad = uploads.resolve("bad.jsonl");
        Files.writeString(bad, TicketData.jsonl().lines().findFirst().orElseThrow() + "\n{\"messages\": \"oops\"}\nnot json\n");
        upload(bad);
        WebElement refusal = chromium.waiting(STEP).until(presenceOfElementLocated(By.cssSelector("#upload-result .error")));
        assertThat(refusal.getText()).contains(":2:").contains(":3:");
        chromium.screenshot("data-malformed-upload");

        Path good = uploads.resolve("tickets.jsonl");
        Files.writeString(good, TicketData.jsonl());
        upload(good);
        chromium.waiting(STEP).until(textToBePresentInElementLocated(By.id("upload-result"), "50 examples"));
        chromium.waiting(STEP).until(d -> d.findElements(By.cssSelector("#file-preview pre.example")).size() == 3);
        chromium.screenshot("data");

        // a fine-tune from the file's row: the loss chart grows while the job runs
        driver.findElement(By.cssSelector("#file-list a.button")).click();
        chromium.waiting(STEP).until(presenceOfElementLocated(By.id("job-form")));
        type("job-suffix", "tickets");
        type("job-epochs", "20");
        type("job-batch", "5");
        type("job-lr", "0.005");
        type("job-rank", "8");
        type("job-seed", "7");
        driver.findElement(By.id("job-submit")).click();
        chromium.waiting(STEP).until(d -> d.getCurrentUrl().contains("#/jobs/ftjob-"));
        String jobId = driver.getCurrentUrl().replaceAll(".*#/jobs/", "");
        List<Integer> pointsWhileRunning = new ArrayList<>();
        chromium.waiting(TRAINING).until(d -> {
            String status = jobs.find(jobId).orElseThrow().getStatus().wireName();
            int points = Integer.parseInt(d.findElement(By.id("loss-chart")).getAttribute("data-points"));
            if (status.equals("running") && points > 0
                    && (pointsWhileRunning.isEmpty() || points > pointsWhileRunning.get(pointsWhileRunning.size() - 1))) {
                pointsWhileRunning.add(points);
                if (pointsWhileRunning.size() == 2) {
                    chromium.screenshot("job-running");
                }
            }
            return !status.equals("running") && !status.equals("queued") && !status.equals("validating_files");
        });
        assertThat(pointsWhileRunning).as("loss chart point counts seen while running").hasSizeGreaterThanOrEqualTo(2);
        chromium.waiting(STEP).until(attributeToBe(By.id("job-status"), "data-status", "succeeded"));
        WebElement adapterLink = chromium.waiting(STEP).until(presenceOfElementLocated(By.cssSelector("#job-adapter a")));
        String adapter = adapterLink.getText();
        assertThat(adapter).isEqualTo("ft:qwen3-tiny:tickets:" + jobId);
        chromium.waiting(STEP).until(d -> !d.findElements(By.cssSelector("#job-checkpoints td")).isEmpty()
                && !d.findElement(By.cssSelector("#job-checkpoints td")).getText().equals("None yet."));
        chromium.screenshot("job");

        // the playground: base and adapter side by side, the adapter's answer streamed
        adapterLink.click();
        chromium.waiting(STEP).until(presenceOfElementLocated(By.id("pg-form")));
        type("pg-system", TicketData.SYSTEM);
        type("pg-prompt", "Ticket: my invoice is wrong");
        WebElement maxTokens = driver.findElement(By.id("pg-max-tokens"));
        maxTokens.clear();
        maxTokens.sendKeys("4");
        driver.findElement(By.id("pg-run")).click();
        chromium.waiting(STEP).until(d -> d.findElements(By.cssSelector(".answer")).size() == 2
                && d.findElements(By.cssSelector(".answer[data-done=true]")).size() == 2);
        WebElement answer = driver.findElement(By.cssSelector(".answer[data-model='" + adapter + "']"));
        assertThat(answer.findElement(By.cssSelector("pre.output")).getText()).isEqualTo("billing");
        assertThat(Integer.parseInt(answer.getAttribute("data-chunks"))).isPositive();
        assertThat(answer.getText()).contains("completion tokens").contains("first token");
        chromium.screenshot("playground");

        // a task from the form, invoked from the page
        go("tasks");
        chromium.waiting(STEP).until(presenceOfElementLocated(By.id("task-form")));
        type("task-name", "label_ticket");
        type("task-description", "Labels a customer support ticket.");
        new Select(driver.findElement(By.id("task-adapter"))).selectByValue(adapter + "@1");
        type("task-system", TicketData.SYSTEM);
        type("task-output-schema", "{\"type\": \"string\", \"enum\": [\"billing\", \"shipping\", \"account\", \"praise\", \"bug\"]}");
        WebElement taskMaxTokens = driver.findElement(By.id("task-max-tokens"));
        taskMaxTokens.clear();
        taskMaxTokens.sendKeys("4");
        driver.findElement(By.id("task-submit")).click();
        chromium.waiting(STEP).until(textToBePresentInElementLocated(By.id("task-list"), "label_ticket"));
        driver.findElement(By.cssSelector("#task-list button")).click();
        WebElement input = chromium.waiting(STEP).until(presenceOfElementLocated(By.id("invoke-input")));
        input.clear();
        input.sendKeys("{\"ticket\": \"I was charged twice\"}");
        driver.findElement(By.id("invoke-submit")).click();
        WebElement output = chromium.waiting(STEP).until(presenceOfElementLocated(By.id("invoke-result")));
        assertThat(output.getText()).isEqualTo("\"billing\"");
        chromium.waiting(STEP).until(d -> cell(d, "label_ticket", 4).equals("1"));
        assertThat(driver.findElement(By.id("task-savings")).isDisplayed()).as("the data engine's savings panel")
                .isTrue();
        chromium.screenshot("tasks");
        chromium.resize(420, 900);
        chromium.screenshot("tasks-narrow");
        chromium.resize(1280, 800);

        go("adapters");
        chromium.waiting(STEP).until(textToBePresentInElementLocated(By.id("adapter-list"), "label_ticket"));
        chromium.screenshot("adapters");

        // the engine's counters show every project: a tenant key sees the API's refusal, an admin key the meters
        go("serving");
        chromium.waiting(STEP).until(textToBePresentInElementLocated(By.cssSelector("#serving-meters .error"),
                "a tenant key cannot read them"));
        WebElement keyInput = driver.findElement(By.id("api-key"));
        keyInput.clear();
        keyInput.sendKeys(keys.create("console", "browser test admin", true).key());
        driver.findElement(By.cssSelector("#key-form button[type=submit]")).click();
        chromium.waiting(STEP).until(presenceOfElementLocated(By.cssSelector("#serving-meters table")));
        chromium.waiting(STEP).until(d -> !d.findElement(By.id("serving-meters")).getText().contains("…"));
        assertThat(driver.findElement(By.id("serving-meters")).getText()).contains("Tokens generated")
                .doesNotContain("n/a");
        chromium.screenshot("serving");
        collectResources();

        // the key travelled in headers only
        assertThat(resources).noneMatch(url -> url.contains(key));
        assertThat((String) driver.executeScript("return document.cookie")).isEmpty();

        // the API explorer lists every endpoint of the README's API table
        open("/docs");
        chromium.waiting(STEP).until(d -> d.findElements(By.cssSelector(".opblock")).size() > 20);
        List<String> documented = driver.findElements(By.cssSelector(".opblock-summary-path")).stream()
                .map(e -> e.getAttribute("data-path")).toList();
        for (ReadmeEndpoint endpoint : readmeEndpoints()) {
            assertThat(documented).as(endpoint.toString()).anyMatch(endpoint::matches);
        }
        assertThat(documented).contains("/v1/admin/keys", "/v1/tools", "/mcp");
        chromium.screenshot("docs");
        collectResources();

        assertThat(resources).as("resources the pages loaded").isNotEmpty()
                .allMatch(url -> url.startsWith(origin + "/"), "come from the Quiver server " + origin);
        assertThat(resources).anyMatch(url -> url.contains("/webjars/uplot/"))
                .anyMatch(url -> url.contains("/webjars/swagger-ui/"));
        assertThat(chromium.javascriptErrors()).as("JavaScript errors in the browser console").isEmpty();
    }

    private void open(String path) {
        if (driver.getCurrentUrl().startsWith(origin)) {
            collectResources();
        }
        driver.get(origin + path);
    }

    private void go(String page) {
        driver.findElement(By.cssSelector("nav a[data-page=" + page + "]")).click();
        chromium.waiting(STEP).until(attributeToBe(By.id("view"), "data-page", page));
    }

    private void upload(Path file) {
        driver.findElement(By.id("upload-file")).sendKeys(file.toAbsolutePath().toString());
        driver.findElement(By.id("upload-submit")).click();
    }

    private void type(String id, String text) {
        WebElement input = driver.findElement(By.id(id));
        input.clear();
        input.sendKeys(text);
    }

    private static String cell(WebDriver d, String rowText, int column) {
        for (WebElement row : d.findElements(By.cssSelector("#task-list tbody tr"))) {
            if (row.getText().contains(rowText)) {
                return row.findElements(By.tagName("td")).get(column).getText();
            }
        }
        return "";
    }

    // every request the page made (the document, scripts, styles, fetches) as the browser timed it
    @SuppressWarnings("unchecked")
    private void collectResources() {
        resources.addAll((List<String>) driver.executeScript(
                "return performance.getEntries().filter(e => e.entryType === 'navigation' || e.entryType === 'resource')"
                        + ".map(e => e.name)"));
        chromium.javascriptErrors();
    }

    /** A row of the README's API table: its base path and the sub-paths it names. */
    record ReadmeEndpoint(String base, String sub) {
        boolean matches(String path) {
            return sub == null ? path.equals(base) : path.startsWith(base) && path.endsWith(sub);
        }
    }

    static List<ReadmeEndpoint> readmeEndpoints() throws Exception {
        List<ReadmeEndpoint> out = new ArrayList<>();
        Pattern code = Pattern.compile("`(/[A-Za-z{][^`?]*)`");
        boolean inTable = false;
        for (String line : Files.readAllLines(Path.of("..", "README.md"))) {
            if (line.startsWith("| API |")) {
                inTable = true;
                continue;
            }
            if (inTable && !line.startsWith("|")) {
                break;
            }
            if (!inTable || line.startsWith("|---")) {
                continue;
            }
            String[] cells = line.split("\\|");
            List<String> bases = new ArrayList<>();
            Matcher m = code.matcher(cells[1]);
            while (m.find()) {
                bases.add(m.group(1));
                out.add(new ReadmeEndpoint(m.group(1), null));
            }
            Matcher s = code.matcher(cells[2]);
            while (s.find()) {
                out.add(new ReadmeEndpoint(bases.get(0), s.group(1)));
            }
        }
        assertThat(out).as("endpoints in README.md's API table").hasSizeGreaterThan(15);
        return out;
    }
}
