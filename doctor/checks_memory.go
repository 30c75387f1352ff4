package doctor

import (
	"fmt"
	"strings"
)

const (
	// memoryHigh is the share of maxmemory (or, without one, of the host's
	// memory) above which memory-usage warns: the Monitor's alert threshold.
	memoryHigh = 0.85
	// memoryFull is the share of maxmemory above which a server that does
	// not evict fails memory-usage: its writes are about to get OOM errors.
	memoryFull = 0.95
	// fragmentationHigh is the fragmentation ratio above which the memory
	// the allocator holds beyond the data is worth a look.
	fragmentationHigh = 1.5
	// fragmentationMatters is how much memory beyond the data makes a high
	// ratio matter (Redis's own active-defrag-ignore-bytes): small servers
	// always show high ratios.
	fragmentationMatters = 100 << 20
	// hitRateLow is the cache hit rate below which hit-rate warns, once
	// there have been hitRateLookups lookups to judge by.
	hitRateLow     = 0.5
	hitRateLookups = 1000
)

// checkMaxmemory fails a cache without maxmemory: it grows until the kernel
// kills it, instead of evicting.
func checkMaxmemory(f *facts) Check {
	maxmemory, ok := f.settingNumber("maxmemory", "maxmemory")
	if !ok {
		return skip(IDMaxmemory, f.whyNeither())
	}
	host := ""
	total, hasTotal := f.number("total_system_memory")
	if hasTotal && total > 0 {
		host = fmt.Sprintf(" (the host has %s)", bytesText(total))
	}
	if maxmemory == 0 {
		detail := "no maxmemory: the server grows until the kernel's OOM killer stops it" + host
		if f.role == RoleStore {
			return warn(IDMaxmemory, detail, "set maxmemory below the memory of the host or container, with maxmemory-policy noeviction, so that writes fail with OOM before the host runs out")
		}
		return fail(IDMaxmemory, detail, "set maxmemory to about half the memory of the host or container (the rest is for the fork of a snapshot), e.g. maxmemory 2gb")
	}
	if hasTotal && total > 0 && maxmemory > total {
		return warn(IDMaxmemory, fmt.Sprintf("maxmemory %s is more than the host's %s", bytesText(maxmemory), bytesText(total)), "set maxmemory below the memory of the host or container")
	}
	return pass(IDMaxmemory, "maxmemory "+bytesText(maxmemory)+host)
}

// checkEvictionPolicy judges maxmemory-policy by the role: a cache must
// evict any key, a store none.
func checkEvictionPolicy(f *facts) Check {
	policy, ok := f.setting("maxmemory-policy", "maxmemory_policy")
	if !ok {
		return skip(IDEvictionPolicy, f.whyNeither())
	}
	if maxmemory, ok := f.settingNumber("maxmemory", "maxmemory"); ok && maxmemory == 0 {
		c := evictionVerdict(f.role, policy)
		c.Detail += " (it applies once maxmemory is set)"
		return c
	}
	return evictionVerdict(f.role, policy)
}

func evictionVerdict(role Role, policy string) Check {
	volatile := strings.HasPrefix(policy, "volatile-")
	if role == RoleStore {
		switch {
		case policy == "noeviction":
			return pass(IDEvictionPolicy, "noeviction: when memory is full, writes fail with OOM rather than lose keys")
		case volatile:
			return warn(IDEvictionPolicy, policy+": keys with a TTL may be evicted before they expire", "maxmemory-policy noeviction, unless every key with a TTL may be lost")
		case strings.HasPrefix(policy, "allkeys-"):
			return fail(IDEvictionPolicy, policy+": any key may be evicted, and a store loses data", "maxmemory-policy noeviction")
		}
		return warn(IDEvictionPolicy, "unknown policy "+policy, "maxmemory-policy noeviction")
	}
	switch {
	case policy == "allkeys-lru" || policy == "allkeys-lfu":
		return pass(IDEvictionPolicy, policy+": the least useful keys are evicted when memory is full")
	case volatile:
		return warn(IDEvictionPolicy, policy+": only keys with a TTL are evicted; keys without one can fill the memory until writes fail with OOM", "maxmemory-policy allkeys-lru (or allkeys-lfu)")
	case policy == "allkeys-random":
		return warn(IDEvictionPolicy, "allkeys-random: hot keys are evicted as readily as cold ones", "maxmemory-policy allkeys-lru (or allkeys-lfu)")
	case policy == "noeviction":
		return fail(IDEvictionPolicy, "noeviction: when memory is full, every write fails with OOM instead of evicting", "maxmemory-policy allkeys-lru (or allkeys-lfu)")
	}
	return warn(IDEvictionPolicy, "unknown policy "+policy, "maxmemory-policy allkeys-lru (or allkeys-lfu)")
}

// checkMemoryUsage warns above 85 % of maxmemory, and fails a server that
// cannot evict when it is nearly full.
func checkMemoryUsage(f *facts) Check {
	used, ok := f.number("used_memory")
	if !ok {
		return skip(IDMemoryUsage, f.whyNoInfo())
	}
	maxmemory, hasMax := f.settingNumber("maxmemory", "maxmemory")
	if hasMax && maxmemory > 0 {
		ratio := used / maxmemory
		detail := fmt.Sprintf("%s of %s (%s)", bytesText(used), bytesText(maxmemory), percent(ratio))
		policy, _ := f.setting("maxmemory-policy", "maxmemory_policy")
		switch {
		case ratio >= memoryFull && policy == "noeviction":
			return fail(IDMemoryUsage, detail+" with noeviction: writes are about to fail with OOM", "raise maxmemory or delete keys; a cache should evict (allkeys-lru)")
		case ratio > memoryHigh:
			if evicted, ok := f.number("evicted_keys"); ok && policy != "noeviction" {
				detail += fmt.Sprintf("; %.0f keys evicted since start", evicted)
			}
			return warn(IDMemoryUsage, detail, "raise maxmemory or shrink the data set; for a cache, eviction at the limit is expected, but frequent evictions lower the hit rate")
		}
		return pass(IDMemoryUsage, detail)
	}
	total, ok := f.number("total_system_memory")
	if !ok || total == 0 {
		return pass(IDMemoryUsage, bytesText(used)+" used, no maxmemory")
	}
	ratio := used / total
	detail := fmt.Sprintf("%s used, %s of the host's %s, no maxmemory", bytesText(used), percent(ratio), bytesText(total))
	if ratio > memoryHigh {
		return warn(IDMemoryUsage, detail, "set maxmemory before the host runs out of memory")
	}
	return pass(IDMemoryUsage, detail)
}

// checkFragmentation warns when the allocator holds much more memory than
// the data needs, or less (part of the server swapped out).
func checkFragmentation(f *facts) Check {
	ratio, ok := f.number("mem_fragmentation_ratio")
	rss, okRSS := f.number("used_memory_rss")
	used, okUsed := f.number("used_memory")
	if !ok || !okRSS || !okUsed {
		return skip(IDFragmentation, f.whyNoInfo())
	}
	detail := fmt.Sprintf("ratio %.2f (RSS %s for %s of data)", ratio, bytesText(rss), bytesText(used))
	switch {
	case ratio > fragmentationHigh && rss-used >= fragmentationMatters:
		return warn(IDFragmentation, detail, "activedefrag yes (with jemalloc), or restart the server at a quiet hour; MEMORY DOCTOR says more")
	case ratio > fragmentationHigh:
		return pass(IDFragmentation, detail+": too little memory to matter")
	case ratio < 1 && used >= fragmentationMatters:
		return warn(IDFragmentation, detail+": RSS below the data means part of the server may be swapped out", "check the host's swap, and keep maxmemory well below the host's memory")
	}
	return pass(IDFragmentation, detail)
}

// checkHitRate reports the share of key lookups that found their key, and
// warns a cache that misses more than it hits.
func checkHitRate(f *facts) Check {
	hits, okHits := f.number("keyspace_hits")
	misses, okMisses := f.number("keyspace_misses")
	if !okHits || !okMisses {
		return skip(IDHitRate, f.whyNoInfo())
	}
	lookups := hits + misses
	if lookups < hitRateLookups {
		return pass(IDHitRate, fmt.Sprintf("%.0f lookups since start: too few to judge", lookups))
	}
	ratio := hits / lookups
	detail := fmt.Sprintf("%s of %.0f lookups since start found their key", percent(ratio), lookups)
	if f.role == RoleCache && ratio < hitRateLow {
		return warn(IDHitRate, detail, "check the cache's TTLs and keys, and whether evictions (memory-usage) push values out before they are read")
	}
	return pass(IDHitRate, detail)
}
