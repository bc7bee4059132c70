{{/*
KEDA triggers on the queues that feed each worker kind, by the names switchboard.core.keys declares:
the planners' consumer group on the sb:activations stream (entries not yet delivered: lag), and the
sb.tools Celery list.
*/}}
{{- define "switchboard.keda.redisMetadata" -}}
address: {{ printf "%s:%s" (include "switchboard.redis.host" .) (include "switchboard.redis.port" .) | quote }}
databaseIndex: {{ include "switchboard.redis.database" . | quote }}
enableTLS: {{ eq (include "switchboard.redis.tls" .) "true" | toString | quote }}
{{- end -}}

{{- define "switchboard.keda.trigger.planner" -}}
- type: redis-streams
  metadata:
    {{- include "switchboard.keda.redisMetadata" . | nindent 4 }}
    stream: "sb:activations"
    consumerGroup: "planners"
    lagCount: {{ .Values.planner.autoscaling.lagPerReplica | toString | quote }}
    activationLagCount: "0"
{{- end -}}

{{- define "switchboard.keda.trigger.tools" -}}
- type: redis
  metadata:
    {{- include "switchboard.keda.redisMetadata" . | nindent 4 }}
    listName: "sb.tools"
    listLength: {{ .Values.tools.autoscaling.queueLengthPerReplica | toString | quote }}
    activationListLength: "0"
{{- end -}}
