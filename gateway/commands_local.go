package gateway

import (
	"strings"
)

// This file holds the commands the gateway answers alone (SPEC.md §16.4): connection
// handshakes and introspection that redis-cli, redis-benchmark and client libraries
// send, none of which touches the replicated state.

// ServerVersion is the Redis version the gateway reports in HELLO and INFO: the
// oldest with every command of SPEC.md §16.4 (GETDEL, SET ... GET: 6.2).
const ServerVersion = "7.2.0"

func init() {
	for name, c := range map[string]command{
		"ping": {ping, -1}, "echo": {echo, 2}, "hello": {hello, -1}, "select": {selectDB, 2},
		"quit": {quit, -1}, "command": {commandCmd, -1}, "config": {config, -2},
		"client": {clientCmd, -2}, "info": {info, -1},
	} {
		commands[name] = c
	}
}

func ping(_ *Gateway, _ *conn, args [][]byte) plan {
	switch len(args) {
	case 1:
		return localPlan(func(w *writer) { w.simple("PONG") })
	case 2:
		return localPlan(func(w *writer) { w.bulk(args[1]) })
	}
	return errPlan("ERR wrong number of arguments for 'ping' command")
}

func echo(_ *Gateway, _ *conn, args [][]byte) plan {
	return localPlan(func(w *writer) { w.bulk(args[1]) })
}

// hello switches the protocol version (2 or 3) and describes the server. Its AUTH and
// SETNAME options are refused: the gateway has no users.
func hello(_ *Gateway, c *conn, args [][]byte) plan {
	proto := 0 // 0: keep the current one
	if len(args) > 1 {
		switch string(args[1]) {
		case "2":
			proto = 2
		case "3":
			proto = 3
		default:
			return errPlan("NOPROTO unsupported protocol version")
		}
	}
	if len(args) > 2 {
		return errPlan("ERR HELLO options (AUTH, SETNAME) are not supported by the SplitBFT gateway")
	}
	return localPlan(func(w *writer) {
		if proto != 0 {
			w.proto = proto
		}
		w.mapHeader(7)
		w.bulk([]byte("server"))
		w.bulk([]byte("redis"))
		w.bulk([]byte("version"))
		w.bulk([]byte(ServerVersion))
		w.bulk([]byte("proto"))
		w.integer(int64(w.proto))
		w.bulk([]byte("id"))
		w.integer(int64(c.id))
		w.bulk([]byte("mode"))
		w.bulk([]byte("standalone"))
		w.bulk([]byte("role"))
		w.bulk([]byte("master"))
		w.bulk([]byte("modules"))
		w.array(0)
	})
}

func selectDB(_ *Gateway, _ *conn, args [][]byte) plan {
	if string(args[1]) != "0" {
		return errPlan("ERR DB index is out of range (the SplitBFT gateway has database 0 only)")
	}
	return localPlan(func(w *writer) { w.simple("OK") })
}

func quit(_ *Gateway, c *conn, _ [][]byte) plan {
	p := localPlan(func(w *writer) {
		w.simple("OK")
		c.quit = true
	})
	p.last = true
	return p
}

// commandCmd answers COMMAND and its subcommands with empty answers (clients use them
// for hints only) and COMMAND COUNT with the size of the command table.
func commandCmd(_ *Gateway, _ *conn, args [][]byte) plan {
	if len(args) > 1 && strings.EqualFold(string(args[1]), "count") {
		return localPlan(func(w *writer) { w.integer(int64(len(commands))) })
	}
	if len(args) > 1 && strings.EqualFold(string(args[1]), "docs") {
		return localPlan(func(w *writer) { w.mapHeader(0) })
	}
	return localPlan(func(w *writer) { w.array(0) })
}

// config answers CONFIG GET with an empty map (no parameter is exposed) and refuses
// everything else.
func config(_ *Gateway, _ *conn, args [][]byte) plan {
	if !strings.EqualFold(string(args[1]), "get") {
		return errPlan("ERR CONFIG " + printable(args[1], 32) + " is not supported by the SplitBFT gateway")
	}
	return localPlan(func(w *writer) { w.mapHeader(0) })
}

// clientCmd handles CLIENT SETNAME, GETNAME, SETINFO and ID.
func clientCmd(_ *Gateway, c *conn, args [][]byte) plan {
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "setname" && len(args) == 3:
		name := string(args[2])
		if strings.ContainsAny(name, " \r\n") || len(name) > 128 {
			return errPlan("ERR Client names cannot contain spaces, newlines or special characters.")
		}
		return localPlan(func(w *writer) { c.name = name; w.simple("OK") })
	case sub == "getname" && len(args) == 2:
		return localPlan(func(w *writer) {
			if c.name == "" {
				w.null()
				return
			}
			w.bulk([]byte(c.name))
		})
	case sub == "setinfo" && len(args) == 4:
		return localPlan(func(w *writer) { w.simple("OK") })
	case sub == "id" && len(args) == 2:
		return localPlan(func(w *writer) { w.integer(int64(c.id)) })
	}
	return errPlan("ERR unknown subcommand or wrong number of arguments for 'client|" + printable(args[1], 32) + "' command")
}

// info answers INFO with a minimal server section and the gateway's counters (which
// `splitbft status` and the replica's metrics read).
func info(g *Gateway, _ *conn, _ [][]byte) plan {
	return localPlan(func(w *writer) { w.bulk([]byte(g.Stats().info())) })
}
