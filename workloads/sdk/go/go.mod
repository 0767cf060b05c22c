module wasmfleet.io/sdk/go

go 1.24
