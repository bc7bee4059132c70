{{/*
A Ray pod template (head or worker group) running the inference image, so Serve replicas import the same
switchboard.inference code the bridge deploys. Params: root, kind (head | worker), group (its values).
*/}}
{{- define "switchboard.inference.rayPodTemplate" -}}
{{- $root := .root -}}
{{- $group := .group -}}
{{- $gpus := $group.gpusPerWorker | default 0 -}}
{{- $imageName := ternary "inference-gpu" "inference" (gt (float64 $gpus) 0.0) -}}
{{- $resources := deepCopy ($group.resources | default dict) -}}
{{- if gt (float64 $gpus) 0.0 }}
{{- $limits := $resources.limits | default dict -}}
{{- $_ := set $limits $group.gpuResourceName (int64 $gpus) -}}
{{- $_ := set $resources "limits" $limits -}}
{{- end }}
metadata:
  labels:
    {{- include "switchboard.labels" (dict "root" $root "component" "ray") | nindent 4 }}
  {{- with $group.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- if eq .kind "worker" }}
  # Only the head's autoscaler sidecar talks to the Kubernetes API (KubeRay gives the head its account).
  automountServiceAccountToken: false
  {{- end }}
  terminationGracePeriodSeconds: {{ include "switchboard.terminationGracePeriodSeconds" $root }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $group.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  {{- with $group.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  containers:
    - name: ray-{{ .kind }}
      image: {{ include "switchboard.image" (dict "root" $root "name" $imageName "image" $group.image) | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      env:
        - name: HOME
          value: /tmp
      ports:
        {{- if eq .kind "head" }}
        - {name: gcs-server, containerPort: 6379}
        - {name: dashboard, containerPort: 8265}
        - {name: client, containerPort: 10001}
        {{- end }}
        - {name: metrics, containerPort: 8080}
      # Ray's node health (raylet, and GCS on the head) from the dashboard agent.
      livenessProbe:
        httpGet: {path: /api/healthz, port: 52365}
        initialDelaySeconds: 30
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 12
      readinessProbe:
        httpGet: {path: /api/healthz, port: 52365}
        initialDelaySeconds: 10
        periodSeconds: 5
        timeoutSeconds: 5
        failureThreshold: 10
      resources:
        {{- toYaml $resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - {name: tmp, mountPath: /tmp}
        - {name: dshm, mountPath: /dev/shm}
        {{- with include "switchboard.inference.modelVolumeMount" $root | trim }}
        {{- . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- include "switchboard.inference.shmVolume" $group.shmSize | nindent 4 }}
    {{- with include "switchboard.inference.modelVolume" $root | trim }}
    {{- . | nindent 4 }}
    {{- end }}
  {{- with $group.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $group.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $group.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
