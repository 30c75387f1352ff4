package redisguard

import (
	"errors"
	"time"

	"github.com/redisguard/redisguard/breaker"
)

// breakerSettings validates the breaker settings of the options and returns
// the settings every node's breaker is built from: the caller's, with the
// outcomes the client does not count excluded.
func breakerSettings(s breaker.Settings) (*breaker.Settings, []error) {
	isExcluded := s.IsExcluded
	if isExcluded == nil {
		isExcluded = breaker.IsExcluded
	}
	s.IsExcluded = func(err error) bool { return err == errNotCounted || isExcluded(err) }
	if _, err := breaker.New(s); err != nil {
		var errs []error
		for _, e := range unjoin(err) {
			var se *breaker.SettingsError
			if errors.As(e, &se) {
				e = optionErrorf("Breaker."+se.Field, "%s", se.Reason)
			}
			errs = append(errs, e)
		}
		return nil, errs
	}
	return &s, nil
}

// unjoin returns the errors an errors.Join result holds, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// minDerivedSlowCall is the least threshold a read timeout makes: a server
// that answers within it is not sick, however short the read timeout.
const minDerivedSlowCall = 10 * time.Millisecond

// slowCallThreshold is the threshold of a node's breaker: the one set, or the
// smaller of the default and the node's read timeout (a reply slower than the
// read timeout is one the application chose not to wait for), but no less
// than minDerivedSlowCall.
func slowCallThreshold(set, readTimeout time.Duration) time.Duration {
	if set > 0 {
		return set
	}
	if readTimeout > 0 {
		return max(min(breaker.DefaultSlowCallThreshold, readTimeout), minDerivedSlowCall)
	}
	return breaker.DefaultSlowCallThreshold
}
