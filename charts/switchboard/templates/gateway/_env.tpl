{{/* GatewaySettings fields the chart sets; the token comes only from an existing Secret. */}}
{{- define "switchboard.gateway.env" -}}
{{- $values := .Values.gateway -}}
{{- $discord := .Values.discord -}}
{{- if $discord.existingSecret }}
- name: DISCORD_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $discord.existingSecret }}
      key: {{ $discord.tokenKey }}
{{- else }}
- name: SWITCHBOARD_EMULATOR_URL
  value: {{ required "discord.existingSecret or gateway.emulatorUrl is required" $values.emulatorUrl | quote }}
{{- end }}
- name: SWITCHBOARD_GATEWAY_ID
  value: "$(POD_NAME)"
{{- with $values.commandGuildId }}
- name: SWITCHBOARD_COMMAND_GUILD_ID
  value: {{ . | quote }}
{{- end }}
{{- with $values.operatorRoleIds }}
- name: SWITCHBOARD_OPERATOR_ROLE_IDS
  value: {{ . | toJson | quote }}
{{- end }}
{{- if $values.sharding.enabled }}
- name: POD_INDEX
  valueFrom: {fieldRef: {fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']"}}
- name: SWITCHBOARD_SHARD_COUNT
  value: {{ $values.sharding.shardCount | quote }}
- name: SWITCHBOARD_SHARD_IDS
  value: "[$(POD_INDEX)]"
{{- end }}
{{- end -}}
