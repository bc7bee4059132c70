{{/*
Model roles -> InferenceSettings. Each role (chat, vision, embed, image) maps its camelCase values onto
SWITCHBOARD_<ROLE>_* variables; a value left empty leaves the service's own default in force.
*/}}

{{/* Replica sizing of one role: resources per replica, and a fixed count or a Serve autoscaling range. */}}
{{- define "switchboard.inference.roleReplicaEnv" -}}
{{- $prefix := printf "SWITCHBOARD_%s_" (upper .role) -}}
{{- $values := .values -}}
- name: {{ $prefix }}NUM_CPUS
  value: {{ $values.numCpus | toString | quote }}
- name: {{ $prefix }}NUM_GPUS
  value: {{ $values.numGpus | toString | quote }}
{{- if $values.memoryBytes }}
- name: {{ $prefix }}MEMORY_BYTES
  value: {{ $values.memoryBytes | int64 | toString | quote }}
{{- end }}
{{- if $values.maxOngoingRequests }}
- name: {{ $prefix }}MAX_ONGOING_REQUESTS
  value: {{ $values.maxOngoingRequests | int64 | toString | quote }}
{{- end }}
- name: {{ $prefix }}NUM_REPLICAS
  value: {{ $values.numReplicas | int64 | toString | quote }}
{{- if $values.autoscaling.enabled }}
- name: {{ $prefix }}AUTOSCALING
  value: {{ dict "min_replicas" ($values.autoscaling.minReplicas | int64) "max_replicas" ($values.autoscaling.maxReplicas | int64) "target_ongoing_requests" $values.autoscaling.targetOngoingRequests | toJson | quote }}
{{- end }}
{{- end -}}

{{/* An env entry from a Secret key, when the Secret is named. Params: name, secret (existingSecret, key). */}}
{{- define "switchboard.secretEnv" -}}
{{- if .secret.existingSecret }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret.existingSecret }}
      key: {{ .secret.key }}
{{- end }}
{{- end -}}

{{/* A plain env entry, only when the value is set. Params: name, value. */}}
{{- define "switchboard.optionalEnv" -}}
{{- if not (kindIs "invalid" .value) }}
{{- if ne (toString .value) "" }}
- name: {{ .name }}
  value: {{ .value | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "switchboard.inference.rolesEnv" -}}
{{- $inference := .Values.inference -}}
{{- with $inference.roles.chat }}
- name: SWITCHBOARD_CHAT_BACKEND
  value: {{ .backend | quote }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_CHAT_MODEL_PATH" "value" .modelPath) }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_CHAT_MODEL_NAME" "value" .modelName) }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_CHAT_BASE_URL" "value" .baseUrl) }}
{{- include "switchboard.secretEnv" (dict "name" "SWITCHBOARD_CHAT_API_KEY" "secret" .apiKey) }}
{{- include "switchboard.inference.roleReplicaEnv" (dict "role" "chat" "values" .) | nindent 0 }}
{{- end }}
{{- with $inference.roles.vision }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_VISION_BACKEND" "value" .backend) }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_VISION_MODEL_PATH" "value" .modelPath) }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_VISION_MODEL" "value" .model) }}
{{- include "switchboard.inference.roleReplicaEnv" (dict "role" "vision" "values" .) | nindent 0 }}
{{- end }}
{{- with $inference.roles.embed }}
- name: SWITCHBOARD_EMBED_BACKEND
  value: {{ .backend | quote }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_EMBED_MODEL_PATH" "value" .modelPath) }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_EMBED_MODEL_NAME" "value" .modelName) }}
{{- include "switchboard.inference.roleReplicaEnv" (dict "role" "embed" "values" .) | nindent 0 }}
{{- end }}
{{- with $inference.roles.image }}
- name: SWITCHBOARD_IMAGE_BACKEND
  value: {{ .backend | quote }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_IMAGE_MODEL_PATH" "value" .modelPath) }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_IMAGE_MODEL" "value" .model) }}
{{- include "switchboard.optionalEnv" (dict "name" "SWITCHBOARD_IMAGE_BASE_URL" "value" .baseUrl) }}
{{- include "switchboard.secretEnv" (dict "name" "SWITCHBOARD_IMAGE_API_KEY" "secret" .apiKey) }}
{{- include "switchboard.inference.roleReplicaEnv" (dict "role" "image" "values" .) | nindent 0 }}
{{- end }}
{{- end -}}

{{/*
Hosted providers: SWITCHBOARD_PROVIDERS names, for each provider, the variable its key is read from
(PROVIDER_<NAME>_API_KEY), and that variable is filled from the provider's existing Secret.
*/}}
{{- define "switchboard.inference.providerKeyEnv" -}}
{{- printf "PROVIDER_%s_API_KEY" (. | upper | replace "-" "_") -}}
{{- end -}}

{{- define "switchboard.inference.providersEnv" -}}
{{- $inference := .Values.inference -}}
{{- if $inference.providers }}
{{- $providers := dict -}}
{{- range $name, $provider := $inference.providers }}
{{- $entry := dict "kind" $provider.kind "capacity" ($provider.capacity | int64) "timeout_s" $provider.timeoutSeconds -}}
{{- with $provider.baseUrl }}{{ $_ := set $entry "base_url" . }}{{ end -}}
{{- if $provider.apiKey.existingSecret }}{{ $_ := set $entry "api_key_env" (include "switchboard.inference.providerKeyEnv" $name) }}{{ end -}}
{{- $_ := set $providers $name $entry -}}
{{- end }}
- name: SWITCHBOARD_PROVIDERS
  value: {{ $providers | toJson | quote }}
{{- range $name, $provider := $inference.providers }}
{{- include "switchboard.secretEnv" (dict "name" (include "switchboard.inference.providerKeyEnv" $name) "secret" $provider.apiKey) }}
{{- end }}
{{- end }}
{{- if $inference.models }}
{{- $models := list -}}
{{- range $inference.models }}
{{- $model := dict "name" .name "provider" .provider -}}
{{- with .model }}{{ $_ := set $model "model" . }}{{ end -}}
{{- with .capabilities }}{{ $_ := set $model "capabilities" . }}{{ end -}}
{{- with .contextTokens }}{{ $_ := set $model "context_tokens" (. | int64) }}{{ end -}}
{{- $models = append $models $model -}}
{{- end }}
- name: SWITCHBOARD_MODELS
  value: {{ $models | toJson | quote }}
{{- end }}
{{- with $inference.modelAliases }}
- name: SWITCHBOARD_MODEL_ALIASES
  value: {{ . | toJson | quote }}
{{- end }}
{{- end -}}
