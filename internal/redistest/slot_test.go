package redistest

import "testing"

func TestKeySlot(t *testing.T) {
	tests := []struct {
		key  string
		want int
	}{
		// The check value of CRC-16/XMODEM, 0x31C3, from the cluster
		// specification's reference implementation.
		{"123456789", 0x31C3},
		{"foo", 12182},
		{"", 0},
		// Only the hash tag is hashed...
		{"{user1000}.following", KeySlot("user1000")},
		{"{user1000}.followers", KeySlot("user1000")},
		// ...the first one, up to the first "}" after it...
		{"foo{bar}{zap}", KeySlot("bar")},
		{"foo{{bar}}zap", KeySlot("{bar")},
		// ...and an empty one is no tag at all.
		{"foo{}{bar}", int(crc16("foo{}{bar}")) % ClusterSlots},
		{"{}", int(crc16("{}")) % ClusterSlots},
	}
	for _, tt := range tests {
		if got := KeySlot(tt.key); got != tt.want {
			t.Errorf("KeySlot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}
