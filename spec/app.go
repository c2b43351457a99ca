package spec

// This file defines the plaintexts inside sealed operations and replies (SPEC.md §12):
// what only clients and Execution compartments ever see.

// Result is the plaintext of a Reply.
type Result struct {
	_      struct{} `cbor:",toarray"`
	Status uint64   // a Status* constant
	Value  []byte
}

// Result statuses. StatusUndecryptable and StatusRejected are produced by Execution
// itself; the others by the application.
const (
	StatusOK            uint64 = 0
	StatusNotFound      uint64 = 1 // kv: no such key
	StatusCASMismatch   uint64 = 2 // kv: compare-and-swap saw another value; Value holds it
	StatusBadOp         uint64 = 3 // the application could not parse the operation
	StatusUndecryptable uint64 = 4 // the sealed operation failed to open: executed as a no-op
	StatusNotInteger    uint64 = 5 // kv-v2 incrby: the value does not hold a 64-bit integer
	StatusOverflow      uint64 = 6 // kv-v2 incrby: the result leaves the int64 range
	StatusTooLarge      uint64 = 7 // kv-v2 append: the value would exceed MaxKVValue
	StatusRejected      uint64 = 8 // a config operation was rejected; Value is the reject code's name (SPEC.md §17.2)
)

// KVOp is an operation of the kv-v1 application: the plaintext of a SealedOp.
type KVOp struct {
	_        struct{} `cbor:",toarray"`
	Op       uint64   // KVPut, KVGet, KVDelete, KVCAS
	Key      []byte   // 1..MaxKVKey bytes
	Value    []byte   // put, cas: the new value (≤ MaxKVValue bytes)
	Expected []byte   // cas: the value the key must hold
	Absent   bool     // cas: true to require that the key is absent (Expected must be empty)
}

// kv-v1 operations and limits.
const (
	KVPut    uint64 = 1 // set Key to Value; result OK with empty value
	KVGet    uint64 = 2 // result OK with the value, or NotFound
	KVDelete uint64 = 3 // result OK with the old value, or NotFound
	KVCAS    uint64 = 4 // if Key holds Expected (or is absent and Absent), set it to Value: OK; else CASMismatch with the current value

	MaxKVKey   = 256
	MaxKVValue = 16 << 10
)

// KVOp2 is an operation of kv-v2 (SPEC.md §12.7), the superset of kv-v1 that the Redis
// gateway uses: the plaintext of a SealedOp. It is a 6-element array, so it never
// decodes as a KVOp (5 elements) and the two are told apart by their encoding.
type KVOp2 struct {
	_      struct{} `cbor:",toarray"`
	Op     uint64   // KVSet, KVIncrBy, KVAppend, KVStrlen, KVMSetNX
	Keys   [][]byte // 1..MaxKV2Keys keys, each 1..MaxKVKey bytes; exactly 1 unless msetnx
	Values [][]byte // set, append: 1; msetnx: len(Keys); otherwise none
	Flags  uint64   // set: KVSetNX | KVSetXX | KVSetGet (not NX and XX together); otherwise 0
	Delta  uint64   // incrby: the magnitude of the increment
	Neg    bool     // incrby: the increment is −Delta (then 1 ≤ Delta ≤ 2^63)
}

// kv-v2 operations, set flags and limits (SPEC.md §12.7).
const (
	KVSet    uint64 = 16 // conditional set; see the Flags
	KVIncrBy uint64 = 17 // add a signed 64-bit increment to an integer value
	KVAppend uint64 = 18 // append to the value (absent: set it)
	KVStrlen uint64 = 19 // length of the value in decimal, or NotFound
	KVMSetNX uint64 = 20 // set every key only if none exists: "1" or "0"

	KVSetNX  uint64 = 1 // set only if the key is absent
	KVSetXX  uint64 = 2 // set only if the key is present
	KVSetGet uint64 = 4 // return the old value

	MaxKV2Keys = 256
)

// Snapshot is the full replicated state of an Execution compartment after executing
// Seq: what a CHECKPOINT certifies (StateDigest of its encoding) and what state
// transfer moves (SPEC.md §11.5, §11.7).
type Snapshot struct {
	_       struct{} `cbor:",toarray"`
	Seq     uint64
	App     []byte        // the application's own canonical snapshot (kv-v1: KVSnapshot)
	Clients []ClientEntry // sorted by Client; only clients that executed something
}

// ClientEntry is a client's row in the client table: deduplication state and the
// results of its latest request, re-sent when that request is seen again.
type ClientEntry struct {
	_         struct{} `cbor:",toarray"`
	Client    uint64
	Timestamp uint64   // Timestamp of the latest executed request
	Results   []Result // one per operation of that request
}

// KVSnapshot is the kv-v1 application state: entries sorted by key, keys distinct.
type KVSnapshot struct {
	_       struct{} `cbor:",toarray"`
	Entries []KVEntry
}

// KVEntry is one key and its value.
type KVEntry struct {
	_     struct{} `cbor:",toarray"`
	Key   []byte
	Value []byte
}
