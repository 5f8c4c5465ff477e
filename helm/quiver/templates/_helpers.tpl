{{/* vim: set filetype=mustache: */}}

{{/* The chart name, or nameOverride. */}}
{{- define "quiver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* release-chart, or fullnameOverride; the release name alone when it already contains the chart name. */}}
{{- define "quiver.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's full name: quiver.componentName (dict "root" $ "component" "serving"). */}}
{{- define "quiver.componentName" -}}
{{- printf "%s-%s" (include "quiver.fullname" .root | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "quiver.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Standard labels on every resource. */}}
{{- define "quiver.labels" -}}
helm.sh/chart: {{ include "quiver.chart" . }}
{{ include "quiver.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: quiver
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "quiver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "quiver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of a component: quiver.componentLabels (dict "root" $ "component" "serving"). */}}
{{- define "quiver.componentLabels" -}}
{{ include "quiver.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "quiver.componentSelectorLabels" -}}
{{ include "quiver.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The Quiver image reference; a digest wins over the tag. */}}
{{- define "quiver.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "quiver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "quiver.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "quiver.runnerServiceAccountName" -}}
{{- if .Values.runnerServiceAccount.create -}}
{{- default (include "quiver.componentName" (dict "root" . "component" "runner")) .Values.runnerServiceAccount.name -}}
{{- else -}}
{{- .Values.runnerServiceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The claim holding models, datasets and adapters. */}}
{{- define "quiver.claimName" -}}
{{- default (include "quiver.fullname" .) .Values.persistence.existingClaim -}}
{{- end -}}

{{- define "quiver.hasVolume" -}}
{{- if or .Values.persistence.enabled .Values.persistence.existingClaim -}}true{{- end -}}
{{- end -}}

{{- define "quiver.controlPlaneUrl" -}}
{{- if .Values.jobs.runner.controlPlaneUrl -}}
{{- .Values.jobs.runner.controlPlaneUrl -}}
{{- else -}}
{{- printf "http://%s.%s.svc:%v" (include "quiver.componentName" (dict "root" . "component" "control-plane")) .Release.Namespace .Values.controlPlane.service.port -}}
{{- end -}}
{{- end -}}

{{/* The serving Service as the control plane reaches it (QUIVER_SERVING_URL). */}}
{{- define "quiver.servingUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "quiver.componentName" (dict "root" . "component" "serving")) .Release.Namespace .Values.serving.service.port -}}
{{- end -}}

{{/* The Secret and key holding the internal token both tiers share: a given existing one, else the chart's own. */}}
{{- define "quiver.internalToken.secretName" -}}
{{- default (include "quiver.componentName" (dict "root" . "component" "internal-token")) .Values.internalToken.existingSecret -}}
{{- end -}}

{{- define "quiver.internalToken.secretKey" -}}
{{- if .Values.internalToken.existingSecret -}}{{- .Values.internalToken.secretKey -}}{{- else -}}token{{- end -}}
{{- end -}}

{{/* The Secret and key holding the metrics token: a given existing one, else the chart's own. */}}
{{- define "quiver.metricsToken.secretName" -}}
{{- default (include "quiver.componentName" (dict "root" . "component" "metrics-token")) .Values.metrics.token.existingSecret -}}
{{- end -}}

{{- define "quiver.metricsToken.secretKey" -}}
{{- if .Values.metrics.token.existingSecret -}}{{- .Values.metrics.token.secretKey -}}{{- else -}}token{{- end -}}
{{- end -}}

{{/* Database connection. */}}
{{- define "quiver.postgresql.fullname" -}}
{{- include "quiver.componentName" (dict "root" . "component" "postgresql") -}}
{{- end -}}

{{- define "quiver.database.host" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "quiver.postgresql.fullname" . -}}
{{- else -}}
{{- .Values.externalDatabase.host -}}
{{- end -}}
{{- end -}}

{{- define "quiver.database.port" -}}
{{- if .Values.postgresql.enabled -}}5432{{- else -}}{{- .Values.externalDatabase.port -}}{{- end -}}
{{- end -}}

{{- define "quiver.database.name" -}}
{{- if .Values.postgresql.enabled -}}{{- .Values.postgresql.auth.database -}}{{- else -}}{{- .Values.externalDatabase.database -}}{{- end -}}
{{- end -}}

{{- define "quiver.database.user" -}}
{{- if .Values.postgresql.enabled -}}{{- .Values.postgresql.auth.username -}}{{- else -}}{{- .Values.externalDatabase.user -}}{{- end -}}
{{- end -}}

{{- define "quiver.database.url" -}}
{{- $url := printf "jdbc:postgresql://%s:%v/%s" (include "quiver.database.host" .) (include "quiver.database.port" .) (include "quiver.database.name" .) -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.jdbcParams -}}
{{- $url = printf "%s?%s" $url .Values.externalDatabase.jdbcParams -}}
{{- end -}}
{{- $url -}}
{{- end -}}

{{/* The Secret and key holding the database password: a given existing one, else the chart's own. */}}
{{- define "quiver.database.secretName" -}}
{{- if and .Values.postgresql.enabled .Values.postgresql.auth.existingSecret -}}
{{- .Values.postgresql.auth.existingSecret -}}
{{- else if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- else -}}
{{- include "quiver.componentName" (dict "root" . "component" "database") -}}
{{- end -}}
{{- end -}}

{{- define "quiver.database.secretKey" -}}
{{- if and .Values.postgresql.enabled .Values.postgresql.auth.existingSecret -}}
{{- .Values.postgresql.auth.secretKey -}}
{{- else if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecretPasswordKey -}}
{{- else -}}
password
{{- end -}}
{{- end -}}

{{- define "quiver.database.createSecret" -}}
{{- if .Values.postgresql.enabled -}}
{{- if not .Values.postgresql.auth.existingSecret -}}true{{- end -}}
{{- else if not .Values.externalDatabase.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "quiver.apiKeys.secretName" -}}
{{- default (include "quiver.componentName" (dict "root" . "component" "api-keys")) .Values.apiKeys.existingSecret -}}
{{- end -}}

{{- define "quiver.apiKeys.enabled" -}}
{{- if or .Values.apiKeys.existingSecret .Values.apiKeys.keys -}}true{{- end -}}
{{- end -}}

{{/*
The declared adapters and tasks, as the file quiver-declared.yaml that the control plane and every
serving replica read at start (property quiver.declared.file).
*/}}
{{- define "quiver.declared" -}}
# Declared by the Helm release {{ .Release.Name }}; edit values (adapters, tasks), not this file.
adapters:
{{- if .Values.adapters }}
{{- range $name, $a := .Values.adapters }}
  {{ $name }}:
    source: {{ $a.source | quote }}
    pinned: {{ $a.pinned | default false }}
{{- end }}
{{- else }} {}
{{- end }}
tasks:
{{- if .Values.tasks }}
{{- range $name, $t := .Values.tasks }}
  {{ $name }}:
{{ toYaml $t | indent 4 }}
{{- end }}
{{- else }} {}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by the control plane and serving pods. */}}
{{- define "quiver.podSecurity" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{ end -}}
securityContext:
{{ toYaml .Values.podSecurityContext | indent 2 }}
{{- end -}}

{{/* Environment shared by the control plane and serving containers. */}}
{{- define "quiver.commonEnv" -}}
- name: QUIVER_DATA_DIR
  value: {{ .Values.persistence.mountPath | quote }}
- name: QUIVER_PORT
  value: "8080"
- name: QUIVER_BASE_MODEL_PATH
  value: {{ .Values.baseModel.path | quote }}
{{- if .Values.baseModel.name }}
- name: QUIVER_BASE_MODEL_NAME
  value: {{ .Values.baseModel.name | quote }}
{{- end }}
- name: QUIVER_DB_URL
  value: {{ include "quiver.database.url" . | quote }}
- name: QUIVER_DB_USER
  value: {{ include "quiver.database.user" . | quote }}
- name: QUIVER_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "quiver.database.secretName" . }}
      key: {{ include "quiver.database.secretKey" . }}
- name: QUIVER_INTERNAL_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "quiver.internalToken.secretName" . }}
      key: {{ include "quiver.internalToken.secretKey" . }}
{{- if .Values.metrics.enabled }}
- name: QUIVER_METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "quiver.metricsToken.secretName" . }}
      key: {{ include "quiver.metricsToken.secretKey" . }}
{{- end }}
- name: QUIVER_SHUTDOWN_GRACE_PERIOD
  value: {{ printf "%vs" .Values.shutdown.gracePeriodSeconds | quote }}
- name: MICRONAUT_CONFIG_FILES
  value: /etc/quiver/config/quiver.yml
- name: DJL_CACHE_DIR
  value: /tmp/djl
- name: HOME
  value: /tmp
{{- end -}}

{{/* Volumes of the control plane and serving pods. */}}
{{- define "quiver.volumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ include "quiver.claimName" . }}
- name: config
  configMap:
    name: {{ include "quiver.componentName" (dict "root" . "component" "config") }}
- name: declared
  configMap:
    name: {{ include "quiver.componentName" (dict "root" . "component" "declared") }}
{{- if include "quiver.apiKeys.enabled" . }}
- name: api-keys
  secret:
    secretName: {{ include "quiver.apiKeys.secretName" . }}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "quiver.volumeMounts" -}}
- name: data
  mountPath: {{ .Values.persistence.mountPath }}
- name: config
  mountPath: /etc/quiver/config
  readOnly: true
- name: declared
  mountPath: /etc/quiver/declared
  readOnly: true
{{- if include "quiver.apiKeys.enabled" . }}
- name: api-keys
  mountPath: /etc/quiver/api-keys
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Probes on the Micronaut health endpoints; the start-up probe allows for loading a large model. */}}
{{- define "quiver.probes" -}}
startupProbe:
  httpGet:
    path: /health/liveness
    port: http
  periodSeconds: 5
  failureThreshold: 120
livenessProbe:
  httpGet:
    path: /health/liveness
    port: http
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /health/readiness
    port: http
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{- define "quiver.metricsAnnotations" -}}
{{- if .Values.metrics.enabled -}}
prometheus.io/scrape: "true"
prometheus.io/port: "8080"
prometheus.io/path: /prometheus
{{- end -}}
{{- end -}}

{{/*
Every inconsistency in the values, reported at once (the schema checks each value alone).
*/}}
{{- define "quiver.validateValues" -}}
{{- $messages := list -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.externalDatabase.host) -}}
{{- $messages = append $messages "externalDatabase.host: required when postgresql.enabled=false (or set postgresql.enabled=true for the bundled database)" -}}
{{- end -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.externalDatabase.password) (not .Values.externalDatabase.existingSecret) -}}
{{- $messages = append $messages "externalDatabase: set password or existingSecret" -}}
{{- end -}}
{{- if and .Values.postgresql.enabled .Values.externalDatabase.host -}}
{{- $messages = append $messages "externalDatabase.host is set but postgresql.enabled=true: choose one database (set postgresql.enabled=false to use the external one)" -}}
{{- end -}}
{{- if not (include "quiver.hasVolume" .) -}}
{{- $messages = append $messages "persistence: the control plane, serving replicas and runner Jobs share the base model and adapters on one volume; set persistence.enabled=true or persistence.existingClaim" -}}
{{- end -}}
{{- if and (eq .Values.jobs.launcher "kubernetes") .Values.rbac.create (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) -}}
{{- $messages = append $messages "serviceAccount: jobs.launcher=kubernetes needs the control plane's own ServiceAccount for its Role; set serviceAccount.create=true or serviceAccount.name" -}}
{{- end -}}
{{- if ge (int .Values.shutdown.gracePeriodSeconds) (int .Values.shutdown.terminationGracePeriodSeconds) -}}
{{- $messages = append $messages (printf "shutdown.gracePeriodSeconds (%v) must be less than shutdown.terminationGracePeriodSeconds (%v), or Kubernetes kills pods before in-flight work has finished" .Values.shutdown.gracePeriodSeconds .Values.shutdown.terminationGracePeriodSeconds) -}}
{{- end -}}
{{- if and (hasPrefix "cuda" .Values.serving.executionProvider) (not .Values.serving.gpu.enabled) -}}
{{- $messages = append $messages (printf "serving.executionProvider=%s needs a GPU in each serving pod: set serving.gpu.enabled=true (and an image built with mvn -Pgpu), or serving.executionProvider=cpu" .Values.serving.executionProvider) -}}
{{- end -}}
{{- range $name, $a := .Values.adapters -}}
{{- $source := toString $a.source -}}
{{- if not (or (regexMatch "^[A-Za-z0-9][A-Za-z0-9._:-]*@[A-Za-z0-9._-]+$" $source) (hasPrefix "/" $source) (regexMatch "^https?://[^ ]+$" $source)) -}}
{{- $messages = append $messages (printf "adapters.%s.source: '%s' is none of name@version, /path/on/the/volume, http(s)://url" $name $source) -}}
{{- end -}}
{{- end -}}
{{- if $messages -}}
{{- printf "\nVALUES VALIDATION:\n  - %s" (join "\n  - " $messages) | fail -}}
{{- end -}}
{{- end -}}
