{{/* The chart's name: nameOverride, else "epictetus" (the app.kubernetes.io/name label). */}}
{{- define "epictetus.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of every object: fullnameOverride; else the release name when it already contains the
chart's name ("epictetus", "epictetus-prod"); else "<release>-<name>". At most 63 characters.
*/}}
{{- define "epictetus.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "epictetus.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the pods: never change them on an installed release. */}}
{{- define "epictetus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "epictetus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "epictetus.labels" -}}
{{ include "epictetus.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "epictetus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "epictetus.fullname" .) -}}
{{- else -}}
{{- required "serviceAccount.create is false: set serviceAccount.name to the ServiceAccount the pods run as" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository@digest when image.digest is set (the tag is then ignored), else repository:tag. */}}
{{- define "epictetus.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the Cloudflare API token, and its key. */}}
{{- define "epictetus.tokenSecretName" -}}
{{- .Values.cloudflare.existingSecret | default (printf "%s-cloudflare" (include "epictetus.fullname" .)) -}}
{{- end -}}

{{- define "epictetus.tokenSecretKey" -}}
{{- if .Values.cloudflare.existingSecret }}{{ .Values.cloudflare.existingSecretKey }}{{ else }}api-token{{ end -}}
{{- end -}}

{{- define "epictetus.healthPort" -}}
{{- .Values.config.HEALTH_PORT | default "8080" | toString | trim -}}
{{- end -}}

{{/*
"true" when the service would run without leader election, as src/cli/run.ts decides:
LEADER_ELECTION false (false, 0, no, off in any case), or empty while K8S_CONFIG_PATH is set.
A missing key prints as "<nil>" (Sprig's toString of nil), an empty value as "".
*/}}
{{- define "epictetus.leaderElectionOff" -}}
{{- $le := .Values.config.LEADER_ELECTION | toString | trim | lower -}}
{{- $kubeconfig := .Values.config.K8S_CONFIG_PATH | toString | trim -}}
{{- if has $le (list "false" "0" "no" "off") -}}
true
{{- else if and (has $le (list "" "<nil>")) (not (has $kubeconfig (list "" "<nil>"))) -}}
true
{{- end -}}
{{- end -}}

{{/* The checks values.schema.json makes too, for `--skip-schema-validation` and for clarity. */}}
{{- define "epictetus.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (include "epictetus.leaderElectionOff" .) -}}
{{- fail (printf "replicaCount is %v but leader election is off (config.LEADER_ELECTION, config.K8S_CONFIG_PATH): every replica would write DNS. Set config.LEADER_ELECTION to \"true\", or replicaCount to 1." .Values.replicaCount) -}}
{{- end -}}
{{- range .Values.extraEnv -}}
{{- if or (hasKey $.Values.config .name) (has .name (list "CLOUDFLARE_API_TOKEN" "CLOUDFLARE_API_TOKEN_FILE" "LEASE_NAMESPACE")) -}}
{{- fail (printf "extraEnv sets %s, which the chart sets already: set config.%s to null to take it from extraEnv (the token comes from cloudflare.*)" .name .name) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled needs metrics.service.enabled: the ServiceMonitor scrapes that Service" -}}
{{- end -}}
{{- end -}}
