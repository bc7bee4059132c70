{{/*
What the model roles need from Ray when they start, checked at render time. The inference service refuses
to start when a role's replicas cannot all be placed on the Ray nodes that exist (it does not wait for the
Ray autoscaler), so the worker groups' minimum must already hold every replica a role starts with.
*/}}

{{/* Roles that run on Ray Serve with these values (hosted backends and `none` run no replica). */}}
{{- define "switchboard.inference.rayRoles" -}}
{{- $inference := .Values.inference -}}
{{- $roles := list -}}
{{- if has $inference.roles.chat.backend (list "llama" "echo") }}{{ $roles = append $roles "chat" }}{{ end -}}
{{- $vision := $inference.roles.vision.backend | default (ternary "efficientnet" "none" (eq $inference.roles.chat.backend "llama")) -}}
{{- if eq $vision "efficientnet" }}{{ $roles = append $roles "vision" }}{{ end -}}
{{- if eq $inference.roles.embed.backend "sentence-transformers" }}{{ $roles = append $roles "embed" }}{{ end -}}
{{- if eq $inference.roles.image.backend "diffusers" }}{{ $roles = append $roles "image" }}{{ end -}}
{{- $roles | join "," -}}
{{- end -}}

{{/* Replicas a role starts with: its fixed count, or the autoscaling minimum (at least one). */}}
{{- define "switchboard.inference.replicasAtStart" -}}
{{- if .autoscaling.enabled -}}{{- max 1 (.autoscaling.minReplicas | int64) -}}{{- else -}}{{- .numReplicas | int64 -}}{{- end -}}
{{- end -}}

{{/* GPUs the Ray roles hold once started. */}}
{{- define "switchboard.inference.gpusNeeded" -}}
{{- $inference := .Values.inference -}}
{{- $total := 0.0 -}}
{{- range $role := splitList "," (include "switchboard.inference.rayRoles" .) }}
{{- if $role }}
{{- $values := index $inference.roles $role -}}
{{- $total = addf $total (mulf $values.numGpus (include "switchboard.inference.replicasAtStart" $values)) -}}
{{- end }}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* Worker groups that are switched on, as a name -> values map (the default `worker` group first). */}}
{{- define "switchboard.inference.workerGroups" -}}
{{- $cluster := .Values.inference.rayCluster -}}
{{- $groups := dict -}}
{{- if $cluster.worker.enabled }}{{ $_ := set $groups $cluster.worker.groupName $cluster.worker }}{{ end -}}
{{- range $name, $group := $cluster.additionalWorkerGroups }}
{{- if $group.enabled }}{{ $_ := set $groups $name $group }}{{ end -}}
{{- end -}}
{{- toJson $groups -}}
{{- end -}}

{{/* Worker pods a group keeps even when idle: minReplicas under the Ray autoscaler, else replicas. */}}
{{- define "switchboard.inference.groupFloor" -}}
{{- if .autoscaling -}}{{- .group.minReplicas | int64 -}}{{- else -}}{{- .group.replicas | int64 -}}{{- end -}}
{{- end -}}

{{- define "switchboard.inference.checkPlacement" -}}
{{- $inference := .Values.inference -}}
{{- $needed := include "switchboard.inference.gpusNeeded" . | float64 -}}
{{- if eq $inference.mode "rayCluster" }}
{{- $held := 0.0 -}}
{{- $autoscaling := $inference.rayCluster.enableInTreeAutoscaling -}}
{{- range $name, $group := include "switchboard.inference.workerGroups" . | fromJson }}
{{- $floor := include "switchboard.inference.groupFloor" (dict "group" $group "autoscaling" $autoscaling) -}}
{{- $held = addf $held (mulf $group.gpusPerWorker $floor) -}}
{{- end }}
{{- if gt $needed $held }}
{{- fail (printf "the model roles start with %v GPUs but the Ray worker groups keep only %v: raise a GPU group's minReplicas (or replicas) or lower the roles' numGpus/numReplicas" $needed $held) }}
{{- end }}
{{- else if gt $needed (float64 $inference.local.gpus) }}
{{- fail (printf "the model roles start with %v GPUs but inference.local.gpus is %v" $needed $inference.local.gpus) }}
{{- end }}
{{- end -}}
