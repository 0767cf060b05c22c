// SPDX-License-Identifier: Apache-2.0
//go:build wasip1

// Package wasmfleet is the WasmFleet guest SDK for Go (guest ABI v1, docs/guest-abi.md).
//
// A function is a package main built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o function.wasm .
//
// that registers its handler once, from main or init:
//
//	func init() { wasmfleet.Handle(func(in wasmfleet.Input) error { ... }) }
//	func main() {}
//
// This package exports wf_alloc, wf_dealloc and wf_handle (//go:wasmexport) and wraps the
// wasmfleet_v1 host imports. A handler that returns an error fails the call: its outputs are
// discarded and the error text is what the agent reports.
package wasmfleet

import (
	"errors"
	"strconv"
	"unsafe"
)

//go:wasmimport wasmfleet_v1 log
func hostLog(level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport wasmfleet_v1 emit
func hostEmit(topic unsafe.Pointer, topicLen int32, payload unsafe.Pointer, payloadLen int32) int32

//go:wasmimport wasmfleet_v1 input_topic
func hostInputTopic(buf unsafe.Pointer, capacity int32) int32

//go:wasmimport wasmfleet_v1 config_get
func hostConfigGet(key unsafe.Pointer, keyLen int32, buf unsafe.Pointer, capacity int32) int32

//go:wasmimport wasmfleet_v1 state_get
func hostStateGet(key unsafe.Pointer, keyLen int32, buf unsafe.Pointer, capacity int32) int32

//go:wasmimport wasmfleet_v1 state_set
func hostStateSet(key unsafe.Pointer, keyLen int32, val unsafe.Pointer, valLen int32) int32

//go:wasmimport wasmfleet_v1 set_error
func hostSetError(ptr unsafe.Pointer, n int32)

//go:wasmimport wasmfleet_v1 now_ms
func hostNowMs() float64

// Log levels.
const (
	Debug int32 = 0
	Info  int32 = 1
	Warn  int32 = 2
	Error int32 = 3
)

// Input is one message: the payload (valid only during the call) and its topic.
type Input struct {
	Payload []byte
}

// Topic is the concrete topic the input arrived on.
func (Input) Topic() string {
	buf := make([]byte, 128)
	n := hostInputTopic(unsafe.Pointer(&buf[0]), int32(len(buf)))
	if int(n) > len(buf) {
		buf = make([]byte, n)
		n = hostInputTopic(unsafe.Pointer(&buf[0]), n)
	}
	return string(buf[:n])
}

// Handler handles one input; a non-nil error fails the call.
type Handler func(in Input) error

var handler Handler

// Handle registers the function's handler.
func Handle(h Handler) { handler = h }

// Input buffers handed to the host, kept reachable until wf_dealloc.
var buffers = map[uintptr][]byte{}

//go:wasmexport wf_alloc
func wfAlloc(size int32) int32 {
	if size < 1 {
		size = 1
	}
	b := make([]byte, size)
	p := uintptr(unsafe.Pointer(&b[0]))
	buffers[p] = b
	return int32(p)
}

//go:wasmexport wf_dealloc
func wfDealloc(ptr int32, size int32) {
	delete(buffers, uintptr(ptr))
}

//go:wasmexport wf_handle
func wfHandle(ptr int32, n int32) int32 {
	b, ok := buffers[uintptr(ptr)]
	if !ok || int(n) > len(b) {
		SetError("wf_handle: the input buffer was not allocated by wf_alloc")
		return 1
	}
	if handler == nil {
		SetError("no handler registered: call wasmfleet.Handle from init or main")
		return 1
	}
	if err := handler(Input{Payload: b[:n]}); err != nil {
		SetError(err.Error())
		return 1
	}
	return 0
}

func strPtr(s string) (unsafe.Pointer, int32) {
	if len(s) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(unsafe.StringData(s)), int32(len(s))
}

func bytesPtr(b []byte) (unsafe.Pointer, int32) {
	if len(b) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&b[0]), int32(len(b))
}

// Log writes a line to the function's log.
func Log(level int32, text string) {
	p, n := strPtr(text)
	hostLog(level, p, n)
}

// SetError sets the message reported when the call fails.
func SetError(text string) {
	p, n := strPtr(text)
	hostSetError(p, n)
}

// Errors returned by Emit.
var (
	ErrUndeclaredTopic = errors.New("emit: the topic is not a declared output")
	ErrOutputLimit     = errors.New("emit: output limit reached (64 outputs or 1 MiB per call)")
)

// Emit queues an output; topic "" is the function's first declared output.
func Emit(topic string, payload []byte) error {
	tp, tn := strPtr(topic)
	pp, pn := bytesPtr(payload)
	switch hostEmit(tp, tn, pp, pn) {
	case 0:
		return nil
	case -1:
		return ErrUndeclaredTopic
	default:
		return ErrOutputLimit
	}
}

type getter func(key unsafe.Pointer, keyLen int32, buf unsafe.Pointer, capacity int32) int32

func get(fn getter, key string) ([]byte, bool) {
	kp, kn := strPtr(key)
	buf := make([]byte, 64)
	n := fn(kp, kn, unsafe.Pointer(&buf[0]), int32(len(buf)))
	if n < 0 {
		return nil, false
	}
	if int(n) > len(buf) {
		buf = make([]byte, n)
		n = fn(kp, kn, unsafe.Pointer(&buf[0]), n)
	}
	return buf[:n], true
}

// Config returns a config value (spec.config, configMapRef, secretRef).
func Config(key string) (string, bool) {
	b, ok := get(hostConfigGet, key)
	return string(b), ok
}

// ConfigOr returns a config value or fallback when it is unset.
func ConfigOr(key, fallback string) string {
	if v, ok := Config(key); ok {
		return v
	}
	return fallback
}

// ConfigFloat returns a numeric config value, or fallback when unset or not a number.
func ConfigFloat(key string, fallback float64) float64 {
	v, ok := Config(key)
	if !ok {
		return fallback
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fallback
	}
	return f
}

// StateGet returns this function's per-device state for key.
func StateGet(key string) ([]byte, bool) { return get(hostStateGet, key) }

// ErrStateQuota is returned when a state write would exceed the function's quota.
var ErrStateQuota = errors.New("state_set: the state quota would be exceeded")

// StateSet stores per-device state.
func StateSet(key string, value []byte) error {
	kp, kn := strPtr(key)
	vp, vn := bytesPtr(value)
	if hostStateSet(kp, kn, vp, vn) != 0 {
		return ErrStateQuota
	}
	return nil
}

// NowMs is wall-clock milliseconds since the Unix epoch.
func NowMs() float64 { return hostNowMs() }
