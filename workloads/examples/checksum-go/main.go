// SPDX-License-Identifier: Apache-2.0
//go:build wasip1

// Checksum / XOR integrity check for framed payloads, as a Go GOOS=wasip1 reactor.
//
// Input: a binary frame, data followed by a trailer. ALGORITHM selects the trailer:
//
//	crc32 (default)  4 bytes, big-endian CRC-32 (IEEE) of the data
//	adler32          4 bytes, big-endian Adler-32 of the data
//	xor8             1 byte, the XOR of every data byte
//
// Output (JSON, first declared output): {"ok":true,"algorithm":"crc32","length":N,"checksum":"cbf43926"}
// or, on a mismatch, {"ok":false,...,"expected":"…","actual":"…"} plus a warning in the log. With
// FORWARD=true a valid frame's data (without the trailer) is emitted instead of the verdict.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"strconv"

	"wasmfleet.io/sdk/go"
)

func verify(algorithm string, frame []byte) (data []byte, expected, actual []byte, err error) {
	switch algorithm {
	case "crc32", "adler32":
		if len(frame) < 4 {
			return nil, nil, nil, fmt.Errorf("frame of %d bytes is shorter than its 4-byte %s trailer", len(frame), algorithm)
		}
		data = frame[:len(frame)-4]
		sum := crc32.ChecksumIEEE(data)
		if algorithm == "adler32" {
			sum = adler32.Checksum(data)
		}
		actual = binary.BigEndian.AppendUint32(nil, sum)
		return data, frame[len(frame)-4:], actual, nil
	case "xor8":
		if len(frame) < 1 {
			return nil, nil, nil, fmt.Errorf("empty frame: expected data and a 1-byte xor8 trailer")
		}
		data = frame[:len(frame)-1]
		var x byte
		for _, b := range data {
			x ^= b
		}
		return data, frame[len(frame)-1:], []byte{x}, nil
	default:
		return nil, nil, nil, fmt.Errorf("unknown ALGORITHM %q: use crc32, adler32 or xor8", algorithm)
	}
}

func handle(in wasmfleet.Input) error {
	algorithm := wasmfleet.ConfigOr("ALGORITHM", "crc32")
	data, expected, actual, err := verify(algorithm, in.Payload)
	if err != nil {
		return err
	}
	ok := string(expected) == string(actual)
	if ok && wasmfleet.ConfigOr("FORWARD", "false") == "true" {
		return wasmfleet.Emit("", data)
	}
	verdict := `{"ok":` + strconv.FormatBool(ok) + `,"algorithm":"` + algorithm + `","length":` + strconv.Itoa(len(data))
	if ok {
		verdict += `,"checksum":"` + hex.EncodeToString(actual) + `"}`
	} else {
		verdict += `,"expected":"` + hex.EncodeToString(expected) + `","actual":"` + hex.EncodeToString(actual) + `"}`
		wasmfleet.Log(wasmfleet.Warn, "checksum mismatch on "+in.Topic()+": expected "+hex.EncodeToString(expected)+", got "+hex.EncodeToString(actual))
	}
	return wasmfleet.Emit("", []byte(verdict))
}

func init() { wasmfleet.Handle(handle) }

func main() {}
