package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// This file holds the kv-v1 helpers (SPEC.md §12.6): operation builders for Session
// users and blocking Put, Get, Delete and CAS on a Client.

// ErrBadOp is returned when the cluster answered StatusBadOp (the operation did not
// parse or broke a kv limit) or StatusUndecryptable.
var ErrBadOp = errors.New("client: operation rejected by the application")

// PutOp returns the plaintext of a kv-v1 put.
func PutOp(key, value []byte) []byte {
	return spec.Encode(&spec.KVOp{Op: spec.KVPut, Key: key, Value: value})
}

// GetOp returns the plaintext of a kv-v1 get.
func GetOp(key []byte) []byte { return spec.Encode(&spec.KVOp{Op: spec.KVGet, Key: key}) }

// DeleteOp returns the plaintext of a kv-v1 delete.
func DeleteOp(key []byte) []byte { return spec.Encode(&spec.KVOp{Op: spec.KVDelete, Key: key}) }

// CASOp returns the plaintext of a kv-v1 compare-and-swap: set key to value if it holds
// expected, or, with absent, if it does not exist (expected must then be empty).
func CASOp(key, expected, value []byte, absent bool) []byte {
	return spec.Encode(&spec.KVOp{Op: spec.KVCAS, Key: key, Value: value, Expected: expected, Absent: absent})
}

// one runs a single operation and returns its result, turning BadOp and Undecryptable
// into ErrBadOp.
func (c *Client) one(ctx context.Context, op []byte) (spec.Result, error) {
	res, err := c.Do(ctx, [][]byte{op})
	if err != nil {
		return spec.Result{}, err
	}
	r := res[0]
	if r.Status == spec.StatusBadOp || r.Status == spec.StatusUndecryptable {
		return r, fmt.Errorf("%w: status %d", ErrBadOp, r.Status)
	}
	return r, nil
}

// Put sets key to value.
func (c *Client) Put(ctx context.Context, key, value []byte) error {
	_, err := c.one(ctx, PutOp(key, value))
	return err
}

// Get returns the value of key; found is false when the key does not exist.
func (c *Client) Get(ctx context.Context, key []byte) (value []byte, found bool, err error) {
	r, err := c.one(ctx, GetOp(key))
	if err != nil {
		return nil, false, err
	}
	return r.Value, r.Status == spec.StatusOK, nil
}

// Delete removes key and returns its old value; found is false when it did not exist.
func (c *Client) Delete(ctx context.Context, key []byte) (old []byte, found bool, err error) {
	r, err := c.one(ctx, DeleteOp(key))
	if err != nil {
		return nil, false, err
	}
	return r.Value, r.Status == spec.StatusOK, nil
}

// CAS sets key to value if it currently holds expected (or, with absent, does not
// exist). swapped reports success; otherwise current is the value the key holds (empty
// if absent).
func (c *Client) CAS(ctx context.Context, key, expected, value []byte, absent bool) (swapped bool, current []byte, err error) {
	if absent && len(expected) > 0 {
		return false, nil, fmt.Errorf("%w: absent with a non-empty expected value", ErrBadOp)
	}
	r, err := c.one(ctx, CASOp(key, expected, value, absent))
	if err != nil {
		return false, nil, err
	}
	if r.Status == spec.StatusOK {
		return true, bytes.Clone(value), nil
	}
	return false, r.Value, nil
}
