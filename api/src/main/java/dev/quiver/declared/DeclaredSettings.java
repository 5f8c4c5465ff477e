package dev.quiver.declared;

import dev.quiver.auth.Project;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;

/**
 * {@code quiver.declared.*}: the declared adapters and tasks of a deployment.
 *
 * @param file          the declared file; the Helm chart mounts it at {@code /etc/quiver/declared/quiver-declared.yaml}
 * @param project       the project the declared adapters are registered in
 * @param pollInterval  how often the file is read to see whether its content changed (a ConfigMap update
 *                      arrives as a symlink swap, so the content is compared, never the modification time)
 * @param retryInterval how soon declarations that failed (an unreachable URL, a missing path) are tried again
 */
@ConfigurationProperties("quiver.declared")
@Requires(property = "quiver.declared.file")
public record DeclaredSettings(
        @NotBlank String file,
        @Bindable(defaultValue = Project.DEFAULT_ID) @Pattern(regexp = "[a-zA-Z0-9_-]{1,60}") String project,
        @Bindable(defaultValue = "5s") Duration pollInterval,
        @Bindable(defaultValue = "60s") Duration retryInterval) {
}
