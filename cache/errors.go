package cache

import "errors"

// Errors of the cache.
var (
	// ErrNotFound is what a loader returns for a record that does not exist.
	// With Options.NegativeTTL it is cached, and later Gets return it without
	// calling the loader.
	ErrNotFound = errors.New("cache: not found")

	// ErrLoaderPanic is wrapped by the error every caller waiting on a load gets
	// when the loader panicked; the message holds the panic value and stack.
	ErrLoaderPanic = errors.New("cache: loader panicked")

	// ErrCodecPanic is wrapped by the error a caller gets when the codec (or a
	// value's MarshalJSON or UnmarshalJSON) panicked; inside a shared load every
	// waiter gets it. The message holds the panic value and stack.
	ErrCodecPanic = errors.New("cache: codec panicked")

	// ErrLoadTimeout is wrapped by the error of the callers of a shared load that
	// did not finish within Options.LoadTimeout. It also wraps
	// context.DeadlineExceeded.
	ErrLoadTimeout = errors.New("cache: load timed out")

	// ErrInvalidationPending is what Options.OnFallback sees for a key whose
	// invalidation has not reached Redis yet: the loader answers for it, and the
	// value in Redis is not served until the invalidation is applied.
	ErrInvalidationPending = errors.New("cache: invalidation pending")

	// ErrClosed is returned by every method of a Cache after Close.
	ErrClosed = errors.New("cache: closed")

	// ErrEmptyKey is returned for an empty key, ErrNilLoader for a nil loader.
	ErrEmptyKey  = errors.New("cache: empty key")
	ErrNilLoader = errors.New("cache: nil loader")

	// ErrInvalidOptions is wrapped by every error New and NewNear return for bad
	// options; the message names the field.
	ErrInvalidOptions = errors.New("cache: invalid options")
)
