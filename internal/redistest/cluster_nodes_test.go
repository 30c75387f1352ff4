package redistest

import (
	"slices"
	"strings"
	"testing"
)

func TestParseClusterNodes(t *testing.T) {
	reply := strings.Join([]string{
		"07c3 127.0.0.1:30004@40004 slave e7d1 0 1426238317239 4 connected",
		"67ed 127.0.0.1:30002@40002,host.example master - 0 1426238316232 2 connected 5461-10922 [5460-<-e7d1]",
		"e7d1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 16383 [5460->-67ed]",
		"6ec2 127.0.0.1:30005@40005 master,fail? - 1426238316232 0 5 disconnected",
		"9a3c :0@0 handshake,noaddr - 0 0 0 disconnected",
		"",
	}, "\n")
	entries, err := parseClusterNodes(reply)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5 {
		t.Fatalf("%d entries, want 5", len(entries))
	}
	replica, other, self, failing, joining := entries[0], entries[1], entries[2], entries[3], entries[4]
	if replica.master || replica.masterID != "e7d1" || replica.port != 30004 || replica.configEpoch != 4 || !replica.connected {
		t.Errorf("replica = %+v", replica)
	}
	if !other.master || other.port != 30002 || !slices.Equal(other.slots, []slotRange{{5461, 10922}}) {
		t.Errorf("master with a hostname and a slot being imported = %+v; want only the slots it owns", other)
	}
	if !self.myself || !self.master || !slices.Equal(self.slots, []slotRange{{0, 5460}, {16383, 16383}}) {
		t.Errorf("myself = %+v", self)
	}
	if !failing.failing || failing.connected {
		t.Errorf("fail? node = %+v", failing)
	}
	if !joining.joining || joining.port != 0 {
		t.Errorf("handshake node = %+v", joining)
	}

	for _, bad := range []string{
		"e7d1 127.0.0.1:30001@40001 master - 0 0", // too few fields
		"e7d1 127.0.0.1:30001@40001 master - 0 0 x connected",
		"e7d1 127.0.0.1:30001@40001 master - 0 0 1 connected 10-5",
		"e7d1 127.0.0.1:30001@40001 master - 0 0 1 connected 16384",
	} {
		if _, err := parseClusterNodes(bad); err == nil {
			t.Errorf("parseClusterNodes(%q) succeeded; want an error", bad)
		}
	}
}

func TestInfoField(t *testing.T) {
	info := "# Replication\r\nrole:slave\r\nmaster_port:30001\r\nmaster_link_status:up\r\n"
	for name, want := range map[string]string{"role": "slave", "master_port": "30001", "master_link_status": "up", "missing": ""} {
		if got := infoField(info, name); got != want {
			t.Errorf("infoField(%s) = %q, want %q", name, got, want)
		}
	}
}
