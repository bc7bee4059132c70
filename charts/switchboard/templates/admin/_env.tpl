{{/* The admin API's settings; its bearer tokens (token -> roles, JSON) come only from an existing Secret. */}}
{{- define "switchboard.admin.env" -}}
{{- $values := .Values.admin -}}
- name: SWITCHBOARD_ADMIN_HOST
  value: "0.0.0.0"
- name: SWITCHBOARD_ADMIN_PORT
  value: {{ $values.service.port | quote }}
# Replays run callsystems as a planner does: the same default.
- name: SWITCHBOARD_DEFAULT_CALLSYSTEM
  value: {{ .Values.planner.defaultCallsystem | quote }}
- name: SWITCHBOARD_ADMIN_TOKENS
  valueFrom:
    secretKeyRef:
      name: {{ required "admin.tokens.existingSecret is required" $values.tokens.existingSecret }}
      key: {{ $values.tokens.key }}
{{- end -}}
