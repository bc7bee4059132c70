{{/*
Names and labels shared by every template. Component templates pass a dict:
  (dict "root" $ "component" "planner")
*/}}

{{- define "switchboard.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name; the release name alone when it already contains the chart name. */}}
{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "switchboard.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>; 52 characters leave room for the suffixes StatefulSets add to pod names. */}}
{{- define "switchboard.componentName" -}}
{{- printf "%s-%s" (include "switchboard.fullname" .root) .component | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable across upgrades, so never the version. */}}
{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The recommended app.kubernetes.io labels. */}}
{{- define "switchboard.labels" -}}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: switchboard
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "switchboard.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "switchboard.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/*
Image of a component: its own repository when set, else <image.repository>-<image name>; the tag defaults
to the chart's appVersion. Params: root, name (image name suffix), image (the component's image values).
*/}}
{{- define "switchboard.image" -}}
{{- $image := .image | default dict -}}
{{- $repository := $image.repository | default (printf "%s-%s" .root.Values.image.repository .name) -}}
{{- $tag := $image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}

{{/*
The longest a pod may take to stop: the longest step a worker runs (the planner waits up to the step timeout)
plus a margin for acknowledging and flushing. Kubernetes kills a pod after this.
*/}}
{{- define "switchboard.terminationGracePeriodSeconds" -}}
{{- $tasks := .Values.tasks -}}
{{- add (max $tasks.timeLimitSeconds $tasks.stepTimeoutSeconds) $tasks.terminationMarginSeconds -}}
{{- end -}}
