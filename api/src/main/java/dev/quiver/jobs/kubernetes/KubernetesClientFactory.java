package dev.quiver.jobs.kubernetes;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;

/**
 * The Kubernetes client of the Kubernetes launcher, configured the usual way: in a pod from its service
 * account, elsewhere from {@code KUBECONFIG} or {@code ~/.kube/config}.
 */
@Factory
@Requires(property = "quiver.jobs.launcher", value = "kubernetes")
public class KubernetesClientFactory {
    @Singleton
    @Bean(preDestroy = "close")
    @Requires(missingBeans = KubernetesClient.class)
    KubernetesClient kubernetesClient() {
        return new KubernetesClientBuilder().build();
    }
}
