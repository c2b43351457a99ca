package broker

import (
	"errors"
	"fmt"

	"github.com/splitbft/splitbft/spec"
)

// Enclave is the broker's handle on one compartment, wherever it runs (in-process,
// another process behind frames, an SGX enclave). Init and Step carry exactly the
// bytes of spec.Compartment; the error is for a host-level failure (a dead process, a
// broken pipe), never for a rejected input, which is a Rejection inside the output.
type Enclave interface {
	Init(req []byte) ([]byte, error)
	Step(in []byte) ([]byte, error)
}

// ErrEnclaveDead is returned by an in-process enclave after its compartment panicked.
var ErrEnclaveDead = errors.New("broker: enclave is dead")

// InProcess adapts a compartment running in this process. A panic inside the
// compartment (a bug: compartments must never panic) is turned into an error, after
// which the enclave is dead and every call fails with ErrEnclaveDead.
func InProcess(c spec.Compartment) Enclave { return &inProcess{c: c} }

type inProcess struct {
	c    spec.Compartment
	dead bool
}

func (e *inProcess) Init(req []byte) (out []byte, err error) {
	if e.dead {
		return nil, ErrEnclaveDead
	}
	defer e.recover(&err)
	return e.c.Init(req)
}

func (e *inProcess) Step(in []byte) (out []byte, err error) {
	if e.dead {
		return nil, ErrEnclaveDead
	}
	defer e.recover(&err)
	return e.c.Step(in), nil
}

func (e *inProcess) recover(err *error) {
	if p := recover(); p != nil {
		e.dead = true
		*err = fmt.Errorf("%w: compartment panicked: %v", ErrEnclaveDead, p)
	}
}
