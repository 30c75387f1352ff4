package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrNoClient is the error for a nil client, or a nil pointer inside the
// interface such as a (*redis.Client)(nil): from NewMonitor and Instrument,
// and from the registration of a collector made by NewServerCollector.
var ErrNoClient = errors.New("metrics: no Redis client")

// noClient is ErrNoClient for a nil client received by fn, naming the type
// of the nil pointer so that the mistake can be found.
func noClient(fn string, rdb any) error {
	if rdb == nil {
		return fmt.Errorf("%w: %s got nil", ErrNoClient, fn)
	}
	return fmt.Errorf("%w: %s got a nil %T", ErrNoClient, fn, rdb)
}

// invalidCollector stands for a collector that could not be built, the way
// client_golang reports a bad descriptor: its registration fails with err
// (Register returns it, MustRegister panics with it), and so does every
// collection, should it be collected unregistered.
type invalidCollector struct{ err error }

func (c invalidCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewInvalidDesc(c.err)
}

func (c invalidCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(prometheus.NewInvalidDesc(c.err), c.err)
}
