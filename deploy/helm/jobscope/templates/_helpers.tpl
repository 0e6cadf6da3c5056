{{/* Names and labels shared by every object of the chart. */}}

{{- define "jobscope.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "jobscope.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object; "component" is slurm or node. */}}
{{- define "jobscope.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: jobscope
{{ include "jobscope.selectorLabels" . }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The labels selectors match: stable across upgrades. */}}
{{- define "jobscope.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jobscope.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "jobscope.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The web config Secret: the chart's own, or the user's. Empty when there is none. */}}
{{- define "jobscope.webConfigSecret" -}}
{{- if .Values.webConfig.existingSecret -}}
{{- .Values.webConfig.existingSecret -}}
{{- else if .Values.webConfig.config -}}
{{- printf "%s-web-config" (include "jobscope.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The endpoint settings both monitors share: honor_labels per docs/names.md (jobscope emits
no label the operator sets, and its own `node` must not become exported_node), and the
`cluster` target label. */}}
{{- define "jobscope.monitorEndpoint" -}}
honorLabels: true
scheme: {{ .root.Values.monitoring.scheme }}
interval: {{ .monitor.interval }}
scrapeTimeout: {{ .monitor.scrapeTimeout }}
path: /metrics
{{- with .root.Values.monitoring.tlsConfig }}
tlsConfig:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.monitoring.basicAuth }}
basicAuth:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.cluster }}
relabelings:
  - action: replace
    targetLabel: cluster
    replacement: {{ .root.Values.cluster | quote }}
{{- end }}
{{- end -}}
