{{/* The chart name, or nameOverride (63 characters at most). */}}
{{- define "eso-rs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name: fullnameOverride, else the release name when it already
holds the chart name, else release-chart. 63 characters at most (a DNS label).
*/}}
{{- define "eso-rs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* fullname plus a suffix, still 63 characters at most: (list . "-webhook"). */}}
{{- define "eso-rs.componentName" -}}
{{- $ctx := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $max := int (sub 63 (len $suffix)) -}}
{{- printf "%s%s" (include "eso-rs.fullname" $ctx | trunc $max | trimSuffix "-") $suffix -}}
{{- end }}

{{- define "eso-rs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "eso-rs.commonLabels" -}}
helm.sh/chart: {{ include "eso-rs.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "eso-rs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eso-rs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "eso-rs.labels" -}}
{{ include "eso-rs.commonLabels" . }}
{{ include "eso-rs.selectorLabels" . }}
{{- end }}

{{- define "eso-rs.webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eso-rs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "eso-rs.webhook.labels" -}}
{{ include "eso-rs.commonLabels" . }}
{{ include "eso-rs.webhook.selectorLabels" . }}
{{- end }}

{{- define "eso-rs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eso-rs.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "eso-rs.webhook.serviceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create }}
{{- default (include "eso-rs.componentName" (list . "-webhook")) .Values.webhook.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.webhook.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The webhook's Service name; its DNS name is <this>.<namespace>.svc. */}}
{{- define "eso-rs.webhook.serviceName" -}}
{{- include "eso-rs.componentName" (list . "-webhook") }}
{{- end }}

{{/* The Secret holding the webhook's CA and serving certificate (both modes). */}}
{{- define "eso-rs.webhook.secretName" -}}
{{- include "eso-rs.componentName" (list . "-webhook-tls") }}
{{- end }}

{{/* The ValidatingWebhookConfiguration (cluster-scoped, so the release namespace is in it). */}}
{{- define "eso-rs.webhook.configName" -}}
{{- printf "%s-%s" (include "eso-rs.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The cluster-scoped RBAC objects' names carry the release namespace too. */}}
{{- define "eso-rs.clusterName" -}}
{{- printf "%s-%s" (include "eso-rs.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Where the controller watches: "" for every namespace. */}}
{{- define "eso-rs.watchNamespace" -}}
{{- if .Values.scopedNamespace }}
{{- .Values.scopedNamespace }}
{{- else if .Values.scopedRBAC }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Whether each cluster-scoped kind is reconciled ("true" or ""): never with scopedRBAC. */}}
{{- define "eso-rs.clusterStores" -}}
{{- if and .Values.processClusterStore (not .Values.scopedRBAC) }}true{{ end }}
{{- end }}
{{- define "eso-rs.clusterExternalSecrets" -}}
{{- if and .Values.processClusterExternalSecret (not .Values.scopedRBAC) }}true{{ end }}
{{- end }}
{{- define "eso-rs.clusterPushSecrets" -}}
{{- if and .Values.processClusterPushSecret (not .Values.scopedRBAC) }}true{{ end }}
{{- end }}

{{- define "eso-rs.leaderElectionID" -}}
{{- default "external-secrets-controller" .Values.leaderElectionID }}
{{- end }}

{{/* image: (dict "image" .Values.image "fallback" .Values.image "appVersion" .Chart.AppVersion) */}}
{{- define "eso-rs.image" -}}
{{- $repo := default .fallback.repository .image.repository -}}
{{- $tag := default (default .appVersion .fallback.tag) .image.tag -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end }}

{{/* A security context without the chart's `enabled` switch. */}}
{{- define "eso-rs.securityContext" -}}
{{- toYaml (omit . "enabled") }}
{{- end }}

{{/* Extra flags from a map: --name=value, or --name for an empty value. */}}
{{- define "eso-rs.extraArgs" -}}
{{- range $key, $value := . }}
{{- if or (kindIs "invalid" $value) (eq (toString $value) "") }}
- --{{ $key }}
{{- else }}
- --{{ $key }}={{ $value }}
{{- end }}
{{- end }}
{{- end }}
