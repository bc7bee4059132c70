{{/*
The pod template every Switchboard service shares (gateway, planner, tools, inference bridge, admin), so
security, probes, termination and the common environment are written once. Params (a dict):
  root       the chart root ($)
  component  gateway | planner | tools | inference | admin
  values     the component's values (resources, nodeSelector, tolerations, affinity, env, extraEnv, ...)
  env        extra env entries, already rendered (YAML list items)
  ports      extra container ports, already rendered
  probes     readiness/liveness paths and port: dict "port" "metrics" "live" "/metrics" "ready" "/metrics"
  volumes / volumeMounts  extra entries, already rendered
  podExtra   extra pod spec fields, already rendered (runtimeClassName, ...)
  command    a shell line, when the container must do something before `python -m switchboard.<component>`
*/}}
{{- define "switchboard.podTemplate" -}}
{{- $root := .root -}}
{{- $values := .values -}}
{{- $probes := .probes | default (dict "port" "metrics" "live" "/metrics" "ready" "/metrics") -}}
metadata:
  labels:
    {{- include "switchboard.labels" (dict "root" $root "component" .component) | nindent 4 }}
    {{- with $values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "switchboard.serviceAccountName" $root }}
  # No Switchboard service talks to the Kubernetes API.
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: {{ include "switchboard.terminationGracePeriodSeconds" $root }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .podExtra }}
  {{- . | trim | nindent 2 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "switchboard.image" (dict "root" $root "name" .component "image" $values.image) | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      {{- if .command }}
      command: ["/bin/sh", "-c", {{ printf "%s && exec python -m switchboard.%s" .command .component | quote }}]
      {{- else }}
      command: ["python", "-m", "switchboard.{{ .component }}"]
      {{- end }}
      env:
        {{- include "switchboard.commonEnv" (dict "root" $root "component" .component) | nindent 8 }}
        {{- with .env }}
        {{- . | trim | nindent 8 }}
        {{- end }}
        {{- range $name, $value := $values.env }}
        - name: {{ $name }}
          value: {{ $value | toString | quote }}
        {{- end }}
        {{- with $values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: {{ $root.Values.metrics.port }}
        {{- with .ports }}
        {{- . | trim | nindent 8 }}
        {{- end }}
      startupProbe:
        httpGet: {path: {{ $probes.live }}, port: {{ $probes.port }}}
        periodSeconds: 5
        failureThreshold: {{ $values.startupFailureThreshold | default 60 }}
      livenessProbe:
        httpGet: {path: {{ $probes.live }}, port: {{ $probes.port }}}
        periodSeconds: 20
        timeoutSeconds: 5
        failureThreshold: 3
      readinessProbe:
        httpGet: {path: {{ $probes.ready }}, port: {{ $probes.port }}}
        periodSeconds: 10
        timeoutSeconds: 5
      resources:
        {{- toYaml $values.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        # The root filesystem is read-only; Python, Celery and Ray write only here.
        - name: tmp
          mountPath: /tmp
        {{- with .volumeMounts }}
        {{- . | trim | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- with .volumes }}
    {{- . | trim | nindent 4 }}
    {{- end }}
  {{- with $values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Environment every service reads (ServiceSettings), plus the OTLP exporter's standard variables. */}}
{{- define "switchboard.commonEnv" -}}
{{- $root := .root -}}
- name: POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: POD_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: HOME
  value: /tmp
{{- include "switchboard.redis.env" $root | trim | nindent 0 }}
- name: SWITCHBOARD_METRICS_HOST
  value: "0.0.0.0"
- name: SWITCHBOARD_METRICS_PORT
  value: {{ $root.Values.metrics.port | quote }}
- name: SWITCHBOARD_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: SWITCHBOARD_TASK_TIME_LIMIT_S
  value: {{ $root.Values.tasks.timeLimitSeconds | quote }}
- name: SWITCHBOARD_STEP_TIMEOUT_S
  value: {{ $root.Values.tasks.stepTimeoutSeconds | quote }}
- name: SWITCHBOARD_TRACE_CONTENT
  value: {{ $root.Values.tracing.traceContent | quote }}
{{- with $root.Values.tenancy }}
- name: SWITCHBOARD_MAX_PERSONAS_PER_GUILD
  value: {{ .maxPersonasPerGuild | int64 | toString | quote }}
- name: SWITCHBOARD_MEMORY_MAX_FIELDS
  value: {{ .memoryMaxFields | int64 | toString | quote }}
- name: SWITCHBOARD_MEMORY_TTL_S
  value: {{ .memoryTtlSeconds | int64 | toString | quote }}
- name: SWITCHBOARD_HISTORY_TTL_S
  value: {{ .historyTtlSeconds | int64 | toString | quote }}
- name: SWITCHBOARD_GUILD_PURGE_GRACE_S
  value: {{ .guildPurgeGraceSeconds | int64 | toString | quote }}
- name: SWITCHBOARD_USAGE_RETENTION_DAYS
  value: {{ .usageRetentionDays | int64 | toString | quote }}
- name: SWITCHBOARD_DEFAULT_GUILD_QUOTA
  value: {{ .defaultGuildQuota | toJson | quote }}
{{- end }}
{{- with $root.Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "k8s.namespace.name=$(POD_NAMESPACE),k8s.pod.name=$(POD_NAME),service.namespace=%s" $root.Release.Name | quote }}
{{- end }}
{{- end -}}

{{/* A Deployment's or StatefulSet's replicas: left out when an autoscaler owns the count. */}}
{{- define "switchboard.replicas" -}}
{{- if not (and .values.autoscaling .values.autoscaling.enabled) }}
replicas: {{ .values.replicaCount }}
{{- end }}
{{- end -}}
