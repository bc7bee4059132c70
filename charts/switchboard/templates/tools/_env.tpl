{{/* ToolsSettings fields the chart sets (SWITCHBOARD_* names). */}}
{{- define "switchboard.tools.env" -}}
{{- $values := .Values.tools -}}
- name: SWITCHBOARD_CONCURRENCY
  value: {{ $values.concurrency | quote }}
- name: SWITCHBOARD_ENABLED_TOOLS
  value: {{ $values.enabledTools | toJson | quote }}
{{- end -}}
