{{/* PlannerSettings fields the chart sets (SWITCHBOARD_* names). */}}
{{- define "switchboard.planner.env" -}}
{{- $values := .Values.planner -}}
- name: SWITCHBOARD_PLANNER_ID
  value: "$(POD_NAME)"
- name: SWITCHBOARD_DEFAULT_CALLSYSTEM
  value: {{ $values.defaultCallsystem | quote }}
- name: SWITCHBOARD_MAX_CONCURRENT_ACTIVATIONS
  value: {{ $values.maxConcurrentActivations | quote }}
- name: SWITCHBOARD_STEP_RESEND_AFTER_S
  value: {{ .Values.tasks.stepResendAfterSeconds | quote }}
{{- end -}}
