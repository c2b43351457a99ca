package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/splitbft/splitbft/operator"
)

const recoverUsage = `usage: splitbft recover --dir DIR --replica I --role prep|conf|exec [--build B]

Asks replica I (its status port, from this host only) to replace one of its
compartments by a freshly started one, optionally of another accepted build (prep-a →
prep-b), admitted in a new epoch (SPEC §17.5). The old compartment serves until the
epoch change retires it. splitbft status shows the epoch and the builds.

example:
  splitbft recover --dir /tmp/sbft --replica 2 --role prep --build prep-b`

// recoverMain is `splitbft recover`.
func recoverMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("recover", recoverUsage, stderr)
	dir := fs.String("dir", "", "cluster directory made by init (required)")
	id := fs.Int64("replica", 0, "replica id (required)")
	role := fs.String("role", "", "prep, conf or exec (required)")
	build := fs.String("build", "", "build of the fresh compartment (default: the one the template assigns)")
	words, err := parseFlags(fs, args, stdout)
	switch {
	case err != nil:
	case *dir == "":
		err = errors.New("--dir is required")
	case requiredID(fs, "replica", *id) != nil:
		err = requiredID(fs, "replica", *id)
	case *role != "prep" && *role != "conf" && *role != "exec":
		err = fmt.Errorf("--role %q: want prep, conf or exec", *role)
	case len(words) > 0:
		err = fmt.Errorf("unexpected argument %q", words[0])
	}
	if err != nil {
		return usageError("recover", err, stderr)
	}
	t, err := operator.LoadTemplate(*dir)
	if err == nil && uint64(*id) >= t.N {
		err = fmt.Errorf("replica %d: the cluster has replicas 0..%d", *id, t.N-1)
	}
	if err != nil {
		fmt.Fprintf(stderr, "splitbft recover: %v\n", err)
		return 1
	}
	q := url.Values{"role": {*role}}
	if *build != "" {
		q.Set("build", *build)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u := "http://" + t.Replicas[*id].Status + operator.RecoverPath + "?" + q.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft recover: replica %d: %v\n", *id, err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "splitbft recover: replica %d: %s: %s\n", *id, resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprint(stdout, string(body))
	return 0
}
