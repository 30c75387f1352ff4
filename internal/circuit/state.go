package circuit

import "github.com/sony/gobreaker/v2"

// State is the breaker's state.
type State int

const (
	// StateClosed: calls go through and are counted.
	StateClosed State = iota
	// StateHalfOpen: a few probe calls go through; their outcome closes or
	// reopens the breaker.
	StateHalfOpen
	// StateOpen: every call is refused with ErrOpen.
	StateOpen
)

// String gives closed, half-open or open.
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	default:
		return "unknown"
	}
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	case gobreaker.StateOpen:
		return StateOpen
	default:
		return StateClosed
	}
}
