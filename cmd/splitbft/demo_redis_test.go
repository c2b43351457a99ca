package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// TestRedisDemo runs `demo --redis` with ephemeral ports: every replica's gateway
// answers, a value set through one is read through another, and the demo ends cleanly
// when its context does.
func TestRedisDemo(t *testing.T) {
	fl, err := parseDemoFlags([]string{"-redis", "-redis-port", "0"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	assign, err := diversity("mixed", 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	ready := make(chan []string, 1)
	var out bytes.Buffer
	go func() {
		done <- serveRedisDemo(ctx, assign, fl, &out, &bytes.Buffer{}, func(a []string) { ready <- a })
	}()
	addrs := <-ready
	if len(addrs) != 4 {
		t.Fatalf("%d gateways", len(addrs))
	}
	if got := resp(t, addrs[0], "SET demo 42\r\n"); got != "+OK\r\n" {
		t.Fatalf("SET: %q", got)
	}
	if got := resp(t, addrs[3], "INCR demo\r\n"); got != ":43\r\n" {
		t.Fatalf("INCR through another gateway: %q", got)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !bytes.Contains(out.Bytes(), []byte("redis-cli -p ")) {
		t.Fatalf("output lacks the ports:\n%s", out.String())
	}
}

// resp sends one RESP request and returns the first reply line.
func resp(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}
