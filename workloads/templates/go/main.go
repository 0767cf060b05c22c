// SPDX-License-Identifier: Apache-2.0
//go:build wasip1

// __NAME__: a WasmFleet function. See README.md.
package main

import (
	"encoding/binary"
	"strconv"

	"wasmfleet.io/sdk/go"
)

func handle(in wasmfleet.Input) error {
	var count uint32
	if b, ok := wasmfleet.StateGet("count"); ok && len(b) == 4 {
		count = binary.LittleEndian.Uint32(b)
	}
	count++
	if err := wasmfleet.StateSet("count", binary.LittleEndian.AppendUint32(nil, count)); err != nil {
		return err
	}
	label := wasmfleet.ConfigOr("LABEL", "")
	out := `{"label":"` + label + `","count":` + strconv.FormatUint(uint64(count), 10) + `,"bytes":` + strconv.Itoa(len(in.Payload)) + `}`
	return wasmfleet.Emit("", []byte(out))
}

func init() { wasmfleet.Handle(handle) }

func main() {}
