package spec

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// This file renders bodies, step inputs and step outputs as deterministic one-line
// text, for logs and golden tests. The text is not part of the wire format, but its
// shape is stable: changing it changes golden files.

// maxListed is how many items of a nested list a line shows before "+N more".
const maxListed = 4

// Describe returns a one-line human-readable form of a body of the given kind, e.g.
// "prepare v=1 n=2 d=ab12cd34 r=3 sig:0011aabb". A body that DecodeKind rejects is
// shown as "<kind name> malformed".
func Describe(kind uint64, body []byte) string {
	v, err := DecodeKind(kind, body)
	if err != nil {
		return KindName(kind) + " malformed"
	}
	return KindName(kind) + " " + describeBody(v)
}

// DescribeStep returns one line per input of in, each "#<index> " followed by
// Describe of the input, and each ending in a newline.
func DescribeStep(in *StepInput) string {
	var b strings.Builder
	for i := range in.Inputs {
		fmt.Fprintf(&b, "#%d %s\n", i, Describe(in.Inputs[i].Kind, in.Inputs[i].Body))
	}
	return b.String()
}

// DescribeOutput returns one line per output of out, each Describe of the output
// followed by its destination ("-> prep,conf r=[0 1 2 3]", or "-> local" when the
// destination is empty), and each ending in a newline.
func DescribeOutput(out *StepOutput) string {
	var b strings.Builder
	for i := range out.Outputs {
		o := &out.Outputs[i]
		fmt.Fprintf(&b, "%s -> %s\n", Describe(o.Kind, o.Body), describeDest(&o.To))
	}
	return b.String()
}

func describeDest(d *Destination) string {
	if d.Roles == 0 && len(d.Replicas) == 0 {
		return "local"
	}
	var roles []string
	for bit := uint64(0); bit < 64; bit++ {
		if d.Roles&(1<<bit) != 0 {
			roles = append(roles, RoleName(bit))
		}
	}
	if len(roles) == 0 {
		roles = []string{"none"}
	}
	return fmt.Sprintf("%s r=%v", strings.Join(roles, ","), d.Replicas)
}

// describeBody renders a decoded body without its kind name.
func describeBody(v any) string {
	switch m := v.(type) {
	case *Read:
		return describeRead(m)
	case *ReadReply:
		return describeReadReply(m)
	case *Request:
		return describeRequest(m)
	case *Batch:
		return describeBatch(m)
	case *PrePrepare:
		return describeSlot(&m.Body) + " " + sigStr(m.Sig)
	case *Proposal:
		return fmt.Sprintf("%s reqs=%d %s", describeSlot(&m.Header.Body), len(m.Batch.Requests), sigStr(m.Header.Sig))
	case *Prepare:
		return describeSlot(&m.Body) + " " + sigStr(m.Sig)
	case *Commit:
		return describeSlot(&m.Body) + " " + sigStr(m.Sig)
	case *Checkpoint:
		b := &m.Body
		return fmt.Sprintf("n=%d s=%s r=%d %s", b.Seq, short(b.State[:]), b.Replica, sigStr(m.Sig))
	case *ViewChange:
		return describeViewChange(m)
	case *NewView:
		return describeNewView(m)
	}
	return describeLocal(v)
}

// describeLocal renders the bodies of the remaining kinds.
func describeLocal(v any) string {
	switch m := v.(type) {
	case *StateRequest:
		return fmt.Sprintf("n=%d s=%s r=%d from=%d", m.Seq, short(m.State[:]), m.Replica, m.Index)
	case *StateChunk:
		return fmt.Sprintf("n=%d s=%s i=%d/%d size=%d nonce=%s ct=%s",
			m.Seq, short(m.State[:]), m.Index, m.Count, m.Size, short(m.Nonce[:]), hexBytes(m.Ciphertext))
	case *Reply:
		return fmt.Sprintf("c=%d t=%d r=%d v=%d nonce=%s ct=%s",
			m.Client, m.Timestamp, m.Replica, m.View, short(m.Nonce[:]), hexBytes(m.Ciphertext))
	case *Configure:
		return describeConfigure(m)
	case *Suspect:
		return fmt.Sprintf("v=%d", m.View)
	case *GroupKeyDeal:
		return describeDeal(m)
	case *Rejection:
		return fmt.Sprintf("#%d %s code=%s sub=%d", m.Index, KindName(m.Kind), CodeName(m.Code), m.Sub)
	case *Status:
		return describeStatus(m)
	case *GroupKeyShares:
		return describeShares(m.Shares)
	case *TransferSummary:
		return describeSummary(m)
	}
	return describeEpoch(v)
}

// describeEpoch renders the bodies of the epoch kinds (SPEC.md §17).
func describeEpoch(v any) string {
	switch m := v.(type) {
	case *EpochVote:
		return fmt.Sprintf("next=%s r=%d %s", short(m.Body.Next[:]), m.Body.Replica, sigStr(m.Sig))
	case *EpochChange:
		var c Config
		if err := Decode(m.Config, &c, MaxMessageBytes); err != nil {
			return fmt.Sprintf("config=undecodable(%d bytes) votes=%d", len(m.Config), len(m.Votes))
		}
		cd := Hash(DomainConfig, m.Config)
		return fmt.Sprintf("epoch=%d start=%d cd=%s votes=%d", c.Epoch, c.StartSeq, short(cd[:]), len(m.Votes))
	case *Enrollment:
		return fmt.Sprintf("%s r=%d build=%q evidence=%d", RoleName(m.Body.Role), m.Body.Replica, m.Body.Build, m.Evidence.Format)
	case *Attestation:
		return fmt.Sprintf("enrollment=%s r=%d %s", short(m.Body.Enrollment[:]), m.Body.Replica, sigStr(m.Sig))
	}
	return describeRecovery(v)
}

// describeRecovery renders the bodies of the recovery kinds (SPEC.md §17.8).
func describeRecovery(v any) string {
	switch m := v.(type) {
	case *Recovery:
		var c Config
		if err := Decode(m.Config, &c, MaxMessageBytes); err != nil {
			return fmt.Sprintf("config=undecodable(%d bytes) votes=%d", len(m.Config), len(m.Votes))
		}
		cd := Hash(DomainConfig, m.Config)
		return fmt.Sprintf("epoch=%d start=%d base=%d cd=%s sigs=%d votes=%d", c.Epoch, c.StartSeq, m.Plan.Body.Base.Seq, short(cd[:]), len(m.Plan.Sigs), len(m.Votes))
	case *Recover:
		lead := "-"
		if len(m.Lead) > 0 {
			lead = fmt.Sprintf("%d epochs from %d", len(m.Lead[0].Configs), m.Lead[0].Base.Seq)
		}
		return fmt.Sprintf("prev=%d bytes base=%d sigs=%d sealed=%d lead=%s", len(m.Prev), m.Plan.Body.Base.Seq, len(m.Plan.Sigs), m.SealedKey.Format, lead)
	case *SealedGroupKey:
		return fmt.Sprintf("format=%d data=%d bytes", m.Format, len(m.Data)) // never the key itself
	case *SealGet:
		return "-"
	}
	return fmt.Sprintf("%T", v) // unreachable: DecodeKind returns only the types above
}

func describeSlot(s *Slot) string {
	return fmt.Sprintf("v=%d n=%d d=%s r=%d", s.View, s.Seq, short(s.Digest[:]), s.Replica)
}

func describeRequest(r *Request) string {
	return fmt.Sprintf("c=%d t=%d ops=%d %s", r.Body.Client, r.Body.Timestamp, len(r.Body.Ops), sigStr(r.Sig))
}

// describeBatch shows the batch digest and each request as client/timestamp/ops.
func describeBatch(b *Batch) string {
	items := make([]string, len(b.Requests))
	for i := range b.Requests {
		rb := &b.Requests[i].Body
		items[i] = fmt.Sprintf("%d/%d/%d", rb.Client, rb.Timestamp, len(rb.Ops))
	}
	d := BatchDigest(b)
	return fmt.Sprintf("d=%s reqs=%d %s", short(d[:]), len(b.Requests), list(items))
}

// describeViewChange shows the stable checkpoint and each prepared certificate as
// seq/view/digest/number of prepares.
func describeViewChange(m *ViewChange) string {
	b := &m.Body
	items := make([]string, len(b.Prepared))
	for i := range b.Prepared {
		h := &b.Prepared[i].Header.Body
		items[i] = fmt.Sprintf("%d/%d/%s/%d", h.Seq, h.View, short(h.Digest[:]), len(b.Prepared[i].Prepares))
	}
	return fmt.Sprintf("v=%d r=%d stable=%d/%s/%d prepared=%s %s",
		b.View, b.Replica, b.Stable.Seq, short(b.Stable.State[:]), len(b.Stable.Proof), list(items), sigStr(m.Sig))
}

// describeNewView shows the senders of the view changes and each pre-prepare as
// seq/digest.
func describeNewView(m *NewView) string {
	b := &m.Body
	vcs := make([]string, len(b.ViewChanges))
	for i := range b.ViewChanges {
		vcs[i] = fmt.Sprint(b.ViewChanges[i].Body.Replica)
	}
	pps := make([]string, len(b.PrePrepares))
	for i := range b.PrePrepares {
		s := &b.PrePrepares[i].Body
		pps[i] = fmt.Sprintf("%d/%s", s.Seq, short(s.Digest[:]))
	}
	return fmt.Sprintf("v=%d r=%d vcs=%s pps=%s %s", b.View, b.Replica, list(vcs), list(pps), sigStr(m.Sig))
}

// describeConfigure shows the config digest and, if the config decodes, n and f.
func describeConfigure(m *Configure) string {
	d := Hash(DomainConfig, m.Config)
	var c Config
	shape := "config=malformed"
	if Decode(m.Config, &c, MaxMessageBytes) == nil {
		shape = fmt.Sprintf("n=%d f=%d clients=%d", c.N, c.F, len(c.Clients))
	}
	return fmt.Sprintf("cfg=%s %s shares=%s", short(d[:]), shape, describeShares(m.Share))
}

func describeDeal(m *GroupKeyDeal) string {
	items := make([]string, len(m.Execs))
	for i := range m.Execs {
		e := &m.Execs[i]
		items[i] = fmt.Sprintf("%s/%d/%s", RoleName(e.Role), e.Replica, short(e.BoxKey[:]))
	}
	return "execs=" + list(items)
}

// describeShares shows each share as recipient/group key.
func describeShares(shares []GroupKeyShare) string {
	items := make([]string, len(shares))
	for i := range shares {
		items[i] = fmt.Sprintf("%s/%s", short(shares[i].Recipient[:]), short(shares[i].GroupKey[:]))
	}
	return list(items)
}

func describeStatus(m *Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s r=%d", RoleName(m.Role), m.Replica)
	if !m.Configured {
		b.WriteString(" unconfigured")
	}
	active := "active"
	if !m.ViewActive {
		active = "changing"
	}
	fmt.Fprintf(&b, " view=%d %s stable=%d last=%d", m.View, active, m.Stable, m.Last)
	if m.NeedState {
		b.WriteString(" need-state")
	}
	if len(m.NeedBatch) > 0 {
		items := make([]string, len(m.NeedBatch))
		for i := range m.NeedBatch {
			items[i] = short(m.NeedBatch[i][:])
		}
		b.WriteString(" need-batch=" + list(items))
	}
	return b.String()
}

// list renders items as "[a b c]", showing at most maxListed and then "+N".
func list(items []string) string {
	if len(items) > maxListed {
		more := fmt.Sprintf("+%d", len(items)-maxListed)
		items = append(items[:maxListed:maxListed], more)
	}
	return "[" + strings.Join(items, " ") + "]"
}

// short renders a digest or key as its first 8 hex digits.
func short(b []byte) string {
	if len(b) > 4 {
		b = b[:4]
	}
	return hex.EncodeToString(b)
}

func sigStr(s Signature) string { return "sig:" + short(s[:]) }

// hexBytes renders a byte string as hex, "-" when empty, and its first 32 bytes
// followed by "..(<length>)" when longer than 32 bytes.
func hexBytes(b []byte) string {
	switch {
	case len(b) == 0:
		return "-"
	case len(b) > 32:
		return fmt.Sprintf("%s..(%d)", hex.EncodeToString(b[:32]), len(b))
	}
	return hex.EncodeToString(b)
}

// describeSummary shows the installed seq and the first 8 clients as client:timestamp.
func describeSummary(m *TransferSummary) string {
	items := make([]string, 0, min(len(m.Clients), 8))
	for i := range m.Clients[:min(len(m.Clients), 8)] {
		items = append(items, fmt.Sprintf("%d:%d", m.Clients[i].Client, m.Clients[i].Timestamp))
	}
	more := ""
	if len(m.Clients) > 8 {
		more = " …"
	}
	return fmt.Sprintf("n=%d clients=%d [%s%s]", m.Seq, len(m.Clients), strings.Join(items, " "), more)
}
