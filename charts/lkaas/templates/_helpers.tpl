{{- define "lkaas.name" -}}lkaas{{- end }}

{{- define "lkaas.fullname" -}}
{{- if contains "lkaas" .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{ else }}{{ printf "%s-lkaas" .Release.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "lkaas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lkaas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lkaas.labels" -}}
{{ include "lkaas.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
