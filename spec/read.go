package spec

import (
	"encoding/binary"
	"fmt"
)

// This file defines the fast read path (SPEC.md §16.6): a READ asks the execution
// compartments for the results of read-only operations on their current state,
// without ordering; each answers with a READ-REPLY naming the sequence number its
// state reflects.

// Read is a client's unordered read (kind KindRead), sent to every replica's broker,
// which hands it to its own exec. It is not signed: it changes no state. Each op is
// sealed for the execution group under the read key and ad
// ReadOpAD(cd, Client, ReadID, index).
type Read struct {
	_      struct{} `cbor:",toarray"`
	Client uint64
	ReadID uint64     // chosen at random by the client for each read: binds the replies to it
	Ops    []SealedOp // 1..MaxRequestOps read-only operations
}

// ReadReply is one exec's answer to a Read (kind KindReadReply): the results of all
// its operations on the state after executing sequence number Last, sealed as
// enc(ReadResults) under the pairwise reply key (SPEC.md §12.3) and ad
// ReadReplyAD(cd, Client, ReadID, Replica, Last, View).
type ReadReply struct {
	_          struct{} `cbor:",toarray"`
	Client     uint64
	ReadID     uint64
	Replica    uint64
	Last       uint64 // lastExec of the answering exec (SPEC.md §11.3)
	View       uint64 // the exec's view, a hint
	Nonce      Nonce
	Ciphertext []byte
}

// ReadResults is the plaintext of a ReadReply: one Result per operation, in order.
type ReadResults struct {
	_       struct{} `cbor:",toarray"`
	Results []Result
}

// AEAD domains of the fast read path (SPEC.md §16.6).
const (
	LabelReadOpAD    = "splitbft/v1/read-op"
	LabelReadReplyAD = "splitbft/v1/read-reply"
)

// ReadOpAD is "splitbft/v1/read-op" || 0x00 || cd || u64(c) || u64(id) || u64(j): the
// associated data of operation j of read id of client c.
func ReadOpAD(cd Digest, c, id, j uint64) []byte {
	ad := append([]byte(LabelReadOpAD), 0)
	ad = append(ad, cd[:]...)
	return append(append(append(ad, U64(c)...), U64(id)...), U64(j)...)
}

// ReadReplyAD is "splitbft/v1/read-reply" || 0x00 || cd || u64(c) || u64(id) || u64(r)
// || u64(last) || u64(view).
func ReadReplyAD(cd Digest, c, id, r, last, view uint64) []byte {
	ad := append([]byte(LabelReadReplyAD), 0)
	ad = append(ad, cd[:]...)
	for _, v := range []uint64{c, id, r, last, view} {
		ad = append(ad, U64(v)...)
	}
	return ad
}

// AppendAD appends label || 0x00 || cd || u64(x) for each x to dst: the associated
// data of §12.2 (request), §12.3 (reply) and §16.6 (reads), written into a reused
// buffer by the client and exec.
func AppendAD(dst []byte, label string, cd Digest, xs ...uint64) []byte {
	dst = append(append(dst, label...), 0)
	dst = append(dst, cd[:]...)
	for _, x := range xs {
		dst = binary.BigEndian.AppendUint64(dst, x)
	}
	return dst
}

func describeRead(m *Read) string {
	return fmt.Sprintf("c=%d id=%d ops=%d", m.Client, m.ReadID, len(m.Ops))
}

func describeReadReply(m *ReadReply) string {
	return fmt.Sprintf("c=%d id=%d r=%d last=%d v=%d ct=%d", m.Client, m.ReadID, m.Replica, m.Last, m.View, len(m.Ciphertext))
}
