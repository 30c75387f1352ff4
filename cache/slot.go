package cache

import "strconv"

// keySlot is the Redis Cluster hash slot of key as a whole (CRC16/XMODEM of
// the key, modulo 16384), for keys that have no hash tag.
func keySlot(key string) uint16 {
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}

// slotTag returns the shortest decimal number whose hash slot is slot: a
// hash tag that puts a key in that slot. About 16,384 tries on average,
// made only for keys that hold a '}' without a hash tag of their own.
func slotTag(slot uint16) string {
	for i := 0; ; i++ {
		if s := strconv.Itoa(i); keySlot(s) == slot {
			return s
		}
	}
}
