module github.com/possim/possim

go 1.26

require (
	github.com/HdrHistogram/hdrhistogram-go v1.2.0
	github.com/moov-io/iso8583 v0.26.1
	github.com/moov-io/iso8583-connection v0.9.0
	github.com/spf13/pflag v1.1.0
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.6
)

require (
	github.com/yerden/go-util v1.1.4 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
