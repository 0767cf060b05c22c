{{/* Names, labels and shared snippets. */}}

{{- define "wasmfleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart>, or just <release> when it already says the chart's name. */}}
{{- define "wasmfleet.fullname" -}}
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

{{- define "wasmfleet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "wasmfleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wasmfleet
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels for one component (operator, mosquitto, simulator). */}}
{{- define "wasmfleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wasmfleet.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "wasmfleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (printf "%s-operator" (include "wasmfleet.fullname" .)) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wasmfleet.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}

{{- define "wasmfleet.mosquittoName" -}}
{{- printf "%s-mosquitto" (include "wasmfleet.fullname" .) }}
{{- end }}

{{/* The Secret of the operator's MQTT password: one key, broker.username. */}}
{{- define "wasmfleet.credentialsSecret" -}}
{{- default (printf "%s-mqtt-credentials" (include "wasmfleet.fullname" .)) .Values.mosquitto.auth.existingSecret }}
{{- end }}

{{- define "wasmfleet.simulatorName" -}}
{{- printf "%s-sim" (include "wasmfleet.fullname" .) }}
{{- end }}

{{/*
  The simulated device sets as a JSON list: the main one (simulator.*) and each of
  simulator.extraSets, whose keys override simulator's. Each has its StatefulSet's name, its
  component label (extra sets get their own, so no selector matches another set's pods) and
  the settings its devices run with.
*/}}
{{- define "wasmfleet.simulatorSets" -}}
{{- $s := omit .Values.simulator "extraSets" }}
{{- $name := include "wasmfleet.simulatorName" . }}
{{- $sets := list (dict "name" $name "component" "simulator" "values" $s) }}
{{- $seen := dict }}
{{- range .Values.simulator.extraSets }}
{{- if hasKey $seen .name }}
{{- fail (printf "simulator.extraSets: two sets are named %q; give each set its own name" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- $sets = append $sets (dict "name" (printf "%s-%s" $name .name) "component" (printf "simulator-%s" .name) "values" (merge (deepCopy .) (deepCopy $s))) }}
{{- end }}
{{- toJson $sets }}
{{- end }}

{{/* Node ids (= pod names = MQTT user names) of one simulated set (dict name, replicas), one per line. */}}
{{- define "wasmfleet.simulatorSetNodes" -}}
{{- range $i := until (int .replicas) }}
{{ printf "%s-%d" $.name $i }}
{{- end }}
{{- end }}

{{/* Node ids of every simulated device, all sets, one per line. */}}
{{- define "wasmfleet.simulatorNodes" -}}
{{- range $set := include "wasmfleet.simulatorSets" . | fromJsonArray }}
{{ include "wasmfleet.simulatorSetNodes" (dict "name" $set.name "replicas" $set.values.replicas) }}
{{- end }}
{{- end }}

{{/* The broker URL: broker.url, else the bundled Mosquitto (TLS only), else a clear failure. */}}
{{- define "wasmfleet.brokerUrl" -}}
{{- if .Values.broker.url }}
{{- .Values.broker.url }}
{{- else if .Values.mosquitto.enabled }}
{{- printf "mqtts://%s.%s.svc:%d" (include "wasmfleet.mosquittoName" .) .Release.Namespace (int .Values.mosquitto.port) }}
{{- else }}
{{- fail "broker.url is required when mosquitto.enabled is false (e.g. --set broker.url=mqtts://broker.example:8883)" }}
{{- end }}
{{- end }}

{{/* The bundled broker's TLS Secret (tls.crt, tls.key, ca.crt): the user's or the generated one. */}}
{{- define "wasmfleet.tlsSecret" -}}
{{- default (printf "%s-mqtt-tls" (include "wasmfleet.fullname" .)) .Values.mosquitto.tls.existingSecret }}
{{- end }}

{{/* The Secret whose ca.crt verifies the broker: broker.caSecret, else the bundled broker's. */}}
{{- define "wasmfleet.caSecret" -}}
{{- if .Values.broker.caSecret }}
{{- .Values.broker.caSecret }}
{{- else if .Values.mosquitto.enabled }}
{{- include "wasmfleet.tlsSecret" . }}
{{- end }}
{{- end }}

{{/* The Secret the operator reads a device's credentials from (see operator credentials-secret.ts). */}}
{{- define "wasmfleet.deviceSecret" -}}
{{- printf "wasmfleet-mqtt-%s" . }}
{{- end }}

{{/* Secret name and key of the operator's MQTT password, or nothing when it has none. */}}
{{- define "wasmfleet.operatorPasswordSecret" -}}
{{- if .Values.broker.passwordSecret.name }}
{{- printf "%s/%s" .Values.broker.passwordSecret.name (default "password" .Values.broker.passwordSecret.key) }}
{{- else if .Values.mosquitto.enabled }}
{{- printf "%s/%s" (include "wasmfleet.credentialsSecret" .) .Values.broker.username }}
{{- end }}
{{- end }}

{{/* The restricted Pod Security Standard, for every container the chart runs. */}}
{{- define "wasmfleet.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "wasmfleet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "wasmfleet.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "wasmfleet.mosquittoConf" -}}
# Rendered by the WasmFleet chart.
per_listener_settings false
allow_anonymous false
# Every client is a dynamic-security client: the operator (its admin, written by the init
# container) and one per EdgeNode, created by the operator with a role holding that device's ACLs.
plugin {{ .Values.mosquitto.dynamicSecurityPlugin }}
plugin_opt_config_file /mosquitto/data/dynamic-security.json
# TLS only: there is no plain-text listener.
listener {{ .Values.mosquitto.port }}
protocol mqtt
certfile /mosquitto/tls/tls.crt
keyfile /mosquitto/tls/tls.key
tls_version tlsv1.2
# No packet beyond a module envelope of the largest module (docs/mqtt-contract.md, "Limits").
max_packet_size {{ int .Values.mosquitto.maxPacketSize }}
persistence {{ .Values.mosquitto.persistence.enabled }}
persistence_location /mosquitto/data/
{{- if .Values.mosquitto.persistence.enabled }}
# Mosquitto writes its database only at shutdown and every autosave_interval seconds (default
# 1800): a SIGKILL or OOM kill loses every session, queued message and retained document since
# the last save. Save every few seconds instead (docs/reliability.md, "Broker and network faults").
autosave_interval {{ .Values.mosquitto.persistence.autosaveIntervalSeconds }}
autosave_on_changes false
{{- end }}
log_dest stdout
log_type error
log_type warning
log_type notice
{{- end }}

{{/*
The operator's resources: operator.resources, with limits.memory set for operator.fleetSize
devices when that is given. Node sizes V8's old generation at half the limit,
and the operator's live heap peaks at ~55 MiB + ~7 KiB a device when a function reaches the
whole fleet (30,000 devices: 257 MiB; docs/adr/0048); with 1.5× room for the collector the limit
is 165Mi + 21 KiB a device, never below 512Mi.
*/}}
{{- define "wasmfleet.operatorResources" -}}
{{- $op := .Values.operator }}
{{- $resources := deepCopy (default dict $op.resources) }}
{{- $devices := int (default 0 $op.fleetSize) }}
{{- if gt $devices 0 }}
{{- $mi := max 512 (add 165 (div (mul $devices 21) 1024)) }}
{{- $limits := default dict $resources.limits }}
{{- $_ := set $limits "memory" (printf "%dMi" $mi) }}
{{- $_ := set $resources "limits" $limits }}
{{- end }}
{{- toYaml $resources }}
{{- end }}
