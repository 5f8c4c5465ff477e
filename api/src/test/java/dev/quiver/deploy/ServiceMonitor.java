package dev.quiver.deploy;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.List;

/**
 * The part of prometheus-operator's ServiceMonitor that the chart renders, so that {@link StrictManifests} parses
 * it as strictly as the built-in kinds (fabric8 ships no model for it).
 */
@Group("monitoring.coreos.com")
@Version("v1")
final class ServiceMonitor extends CustomResource<ServiceMonitor.Spec, Void> implements Namespaced {
    record Spec(LabelSelector selector, NamespaceSelector namespaceSelector, List<Endpoint> endpoints) {
    }

    record NamespaceSelector(List<String> matchNames) {
    }

    record Endpoint(String port, String path, String interval, Authorization authorization) {
    }

    record Authorization(String type, SecretKeySelector credentials) {
    }
}
