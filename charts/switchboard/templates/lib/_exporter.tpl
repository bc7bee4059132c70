{{/*
What redis_exporter reads besides Redis' own INFO: the streams (length, each group's lag and pending
entries) and the Celery queue lists, named as switchboard.core.keys declares them (Stream, Queue).
*/}}
{{- define "switchboard.redis.exporterEnv" -}}
- name: REDIS_EXPORTER_CHECK_SINGLE_STREAMS
  value: "sb:activations,sb:replies,sb:dlq"
- name: REDIS_EXPORTER_CHECK_SINGLE_KEYS
  value: "sb.tools,sb.inference"
{{- end -}}
