module __NAME__

go 1.24

require wasmfleet.io/sdk/go v0.0.0

replace wasmfleet.io/sdk/go => ./sdk
