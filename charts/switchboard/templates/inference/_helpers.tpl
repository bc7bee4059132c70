{{- define "switchboard.inference.clusterName" -}}
{{- include "switchboard.componentName" (dict "root" . "component" "ray") -}}
{{- end -}}

{{/* Ray's token auth: the Secret (key auth_token) KubeRay hands to the cluster and the bridge reads. */}}
{{- define "switchboard.inference.rayAuthEnv" -}}
{{- $auth := .Values.inference.rayCluster.auth -}}
- name: RAY_AUTH_MODE
  value: {{ $auth.mode | quote }}
{{- if eq $auth.mode "token" }}
- name: RAY_AUTH_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ required "inference.rayCluster.auth.existingSecret is required when auth.mode is token" $auth.existingSecret }}
      key: auth_token
{{- end }}
{{- end -}}

{{/* The model volume (weights and pipelines; nothing is downloaded at run time), mounted read-only. */}}
{{- define "switchboard.inference.modelVolume" -}}
{{- with .Values.inference.modelVolume }}
{{- if .enabled }}
- name: models
  {{- toYaml .volume | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "switchboard.inference.modelVolumeMount" -}}
{{- with .Values.inference.modelVolume }}
{{- if .enabled }}
- name: models
  mountPath: {{ .mountPath }}
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/* Ray's object store lives in /dev/shm; the container default (64 MiB) is far too small. */}}
{{- define "switchboard.inference.shmVolume" -}}
- name: dshm
  emptyDir:
    medium: Memory
    {{- with . }}
    sizeLimit: {{ . }}
    {{- end }}
{{- end -}}
