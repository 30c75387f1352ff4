package redistest

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// nodeEntry is one line of CLUSTER NODES: what the answering node believes
// about one node of its cluster.
type nodeEntry struct {
	id          string
	port        int // client port; 0 while the address is unknown
	myself      bool
	master      bool
	failing     bool // flagged "fail" or "fail?"
	joining     bool // still in handshake, or its address is unknown
	masterID    string
	configEpoch uint64
	connected   bool // the answering node's bus link to it is up
	slots       []slotRange
}

// slotRange is an inclusive range of hash slots.
type slotRange struct{ first, last int }

func (r slotRange) String() string {
	if r.first == r.last {
		return strconv.Itoa(r.first)
	}
	return fmt.Sprintf("%d-%d", r.first, r.last)
}

// parseClusterNodes parses the reply to CLUSTER NODES:
//
//	<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> ...
//
// Slots being imported or migrated ("[slot-<-id]", "[slot->-id]") are not
// owned by anyone yet and are left out.
func parseClusterNodes(reply string) ([]nodeEntry, error) {
	var entries []nodeEntry
	for line := range strings.Lines(reply) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line %q: want at least 8 fields", strings.TrimSpace(line))
		}
		e := nodeEntry{id: fields[0], connected: fields[7] == "connected"}
		addr, _, _ := strings.Cut(fields[1], "@")
		if _, port, err := net.SplitHostPort(addr); err == nil {
			e.port, _ = strconv.Atoi(port)
		}
		for flag := range strings.SplitSeq(fields[2], ",") {
			switch flag {
			case "myself":
				e.myself = true
			case "master":
				e.master = true
			case "fail", "fail?":
				e.failing = true
			case "handshake", "noaddr":
				e.joining = true
			}
		}
		if fields[3] != "-" {
			e.masterID = fields[3]
		}
		epoch, err := strconv.ParseUint(fields[6], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("CLUSTER NODES line %q: config epoch: %w", strings.TrimSpace(line), err)
		}
		e.configEpoch = epoch
		for _, field := range fields[8:] {
			if strings.HasPrefix(field, "[") {
				continue
			}
			r, err := parseSlotRange(field)
			if err != nil {
				return nil, fmt.Errorf("CLUSTER NODES line %q: %w", strings.TrimSpace(line), err)
			}
			e.slots = append(e.slots, r)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// parseSlotRange parses "N" or "N-M".
func parseSlotRange(s string) (slotRange, error) {
	firstText, lastText, isRange := strings.Cut(s, "-")
	if !isRange {
		lastText = firstText
	}
	first, err1 := strconv.Atoi(firstText)
	last, err2 := strconv.Atoi(lastText)
	if err1 != nil || err2 != nil || first < 0 || last < first || last >= ClusterSlots {
		return slotRange{}, fmt.Errorf("bad slot range %q", s)
	}
	return slotRange{first, last}, nil
}
