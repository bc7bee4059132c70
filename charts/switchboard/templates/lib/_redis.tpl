{{/*
Where Redis is: the chart's own StatefulSet (redis.enabled) or an external server (externalRedis.*).
Every consumer (services, KEDA triggers, the exporter) reads these helpers, never the values directly.
*/}}

{{- define "switchboard.redis.host" -}}
{{- if .Values.redis.enabled -}}
{{- printf "%s.%s.svc" (include "switchboard.componentName" (dict "root" . "component" "redis")) .Release.Namespace -}}
{{- else -}}
{{- required "externalRedis.host is required when redis.enabled is false" .Values.externalRedis.host -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.redis.port" -}}
{{- if .Values.redis.enabled -}}6379{{- else -}}{{ .Values.externalRedis.port }}{{- end -}}
{{- end -}}

{{- define "switchboard.redis.database" -}}
{{- if .Values.redis.enabled -}}0{{- else -}}{{ .Values.externalRedis.database }}{{- end -}}
{{- end -}}

{{- define "switchboard.redis.tls" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.tls -}}true{{- end -}}
{{- end -}}

{{/* The Secret and key holding the Redis password; empty secret name: no password. */}}
{{- define "switchboard.redis.secretName" -}}
{{- if .Values.redis.enabled -}}
{{- .Values.redis.auth.existingSecret -}}
{{- else -}}
{{- .Values.externalRedis.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.redis.secretKey" -}}
{{- if .Values.redis.enabled -}}
{{- .Values.redis.auth.passwordKey -}}
{{- else -}}
{{- .Values.externalRedis.passwordKey -}}
{{- end -}}
{{- end -}}

{{/*
Environment for a Redis client: REDIS_PASSWORD from the Secret, then SWITCHBOARD_REDIS_URL built with
Kubernetes' $(VAR) expansion, so the password never appears in values, a ConfigMap or the pod spec.
The password must be URL-safe (e.g. `openssl rand -hex 32`).
*/}}
{{- define "switchboard.redis.env" -}}
{{- $secret := include "switchboard.redis.secretName" . -}}
{{- $scheme := ternary "rediss" "redis" (eq (include "switchboard.redis.tls" .) "true") -}}
{{- $where := printf "%s:%s/%s" (include "switchboard.redis.host" .) (include "switchboard.redis.port" .) (include "switchboard.redis.database" .) -}}
{{- if $secret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ include "switchboard.redis.secretKey" . }}
- name: SWITCHBOARD_REDIS_URL
  value: {{ printf "%s://:$(REDIS_PASSWORD)@%s" $scheme $where | quote }}
{{- else }}
- name: SWITCHBOARD_REDIS_URL
  value: {{ printf "%s://%s" $scheme $where | quote }}
{{- end }}
{{- end -}}
