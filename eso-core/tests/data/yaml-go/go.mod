module yprobe

go 1.26

require (
	gopkg.in/yaml.v2 v2.3.0
	sigs.k8s.io/yaml v1.6.0
)

require go.yaml.in/yaml/v2 v2.4.2 // indirect
