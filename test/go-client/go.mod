module tocsin.test/go-client

go 1.26

require github.com/grafana/amixr-api-go-client v0.0.33

require (
	github.com/google/go-querystring v1.2.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
)
