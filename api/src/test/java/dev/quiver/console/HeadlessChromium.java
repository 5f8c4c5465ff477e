package dev.quiver.console;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.regex.Pattern;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's Chromium, headless, driven through its own chromedriver (no Selenium Manager, no download), with
 * the browser console captured so a test can fail on any JavaScript error, and screenshots into the build.
 */
final class HeadlessChromium implements AutoCloseable {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
    // the console shows API refusals as messages; Chromium reports each refused request as a console error too
    private static final Pattern EXPECTED_REFUSAL =
            Pattern.compile("Failed to load resource: the server responded with a status of (400|401|403|404) ");

    private final ChromeDriver driver;
    private final Path profile;
    private final List<String> errors = new ArrayList<>();

    HeadlessChromium() throws IOException {
        profile = Files.createTempDirectory("quiver-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // the network is closed: without the background-networking switches Chromium's own calls fail noisily
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,800", "--user-data-dir=" + profile);
        options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
    }

    /** True where Debian's chromium and chromium-driver are installed. */
    static boolean installed() {
        return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    }

    ChromeDriver driver() {
        return driver;
    }

    WebDriverWait waiting(Duration timeout) {
        WebDriverWait wait = new WebDriverWait(driver, timeout, Duration.ofMillis(100));
        // the console re-renders what it polls (a job's status, its chart): an element a condition found can be
        // replaced before the condition reads it, and the next poll finds the new one
        wait.ignoring(StaleElementReferenceException.class);
        wait.withMessage(() -> "page was: " + driver.getCurrentUrl() + " showing: " + visibleText() + " console: " + errors);
        return wait;
    }

    private String visibleText() {
        try {
            return driver.findElement(org.openqa.selenium.By.tagName("main")).getText();
        } catch (RuntimeException e) {
            return "(no main: " + e.getMessage() + ")";
        }
    }

    /** Reads the console entries logged since the last read and keeps the errors among them. */
    List<String> javascriptErrors() {
        for (LogEntry entry : driver.manage().logs().get(LogType.BROWSER)) {
            if (entry.getLevel().intValue() >= Level.SEVERE.intValue()
                    && !EXPECTED_REFUSAL.matcher(entry.getMessage()).find()) {
                errors.add(entry.getMessage());
            }
        }
        return List.copyOf(errors);
    }

    /** Writes the viewport as {@code target/console-screenshots/NAME.png}. */
    Path screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            Path to = SCREENSHOTS.resolve(name + ".png");
            Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), to, StandardCopyOption.REPLACE_EXISTING);
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void resize(int width, int height) {
        driver.manage().window().setSize(new Dimension(width, height));
    }

    @Override
    public void close() throws IOException {
        driver.quit();
        try (var files = Files.walk(profile)) {
            files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        }
    }
}
