package cache

import (
	"strings"
	"testing"
)

// clusterSlot is Redis Cluster's slot of key: its hash tag's when it has
// one, the whole key's otherwise.
func clusterSlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return keySlot(key[i+1 : i+1+j])
		}
	}
	return keySlot(key)
}

// A lease key is in its value key's slot, whatever braces the key holds.
func TestLeaseKeyInTheKeysSlot(t *testing.T) {
	if got := keySlot("foo"); got != 12182 {
		t.Fatalf("keySlot(foo) = %d, want 12182 (CLUSTER KEYSLOT foo)", got)
	}
	for _, rkey := range []string{"product:42", "p:{user1}:cart", "a}b", "{}x", "x{", "}{", "{a", "a{}b}", "{{}}", "p:}"} {
		lk := leaseKey(rkey)
		if clusterSlot(lk) != clusterSlot(rkey) {
			t.Errorf("leaseKey(%q) = %q: slot %d, the key's is %d", rkey, lk, clusterSlot(lk), clusterSlot(rkey))
		}
		if lk == rkey {
			t.Errorf("leaseKey(%q) is the key itself", rkey)
		}
	}
}
