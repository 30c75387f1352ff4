package outcome

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// reply is a server's error reply, as go-redis's are (redis.Error).
type reply string

func (e reply) Error() string { return string(e) }
func (reply) RedisError()     {}

// notSent is an error marked as never sent, as redisguard marks a failed
// connection setup.
type notSent struct{ error }

func (notSent) NotSent() bool { return true }

// netErr is a net.Error that is not a *net.OpError.
type netErr struct{ timeout bool }

func (e netErr) Error() string   { return "net" }
func (e netErr) Timeout() bool   { return e.timeout }
func (e netErr) Temporary() bool { return false }

var (
	errMine    = errors.New("mine: never sent")
	errRefused = errors.New("mine: refused")
	table      = Table{NotSent: []error{errMine}, Refused: []error{errRefused}}
)

func op(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Kind
	}{
		{nil, OK},
		{redis.Nil, Answer},
		{reply("WRONGTYPE Operation against a key"), Answer},
		{reply("ERR syntax error"), Answer},
		{reply("NOSCRIPT No matching script"), Answer},
		{reply("OOM command not allowed"), Answer},
		{op("dial", syscall.ECONNREFUSED), DialRefused},
		{op("dial", context.DeadlineExceeded), DialRefused}, // not a network timeout
		{op("dial", os.ErrDeadlineExceeded), DialTimeout},
		{fmt.Errorf("down: %w: %w", errMine, op("dial", syscall.ECONNREFUSED)), DialRefused},
		{errMine, NotSent},
		{fmt.Errorf("x: %w", errMine), NotSent},
		{notSent{io.EOF}, NotSent},
		{notSent{reply("ERR max number of clients reached")}, NotSent},
		{errRefused, Refused},
		{redis.ErrClosed, Refused},
		{redis.ErrPoolTimeout, PoolTimeout},
		{context.Canceled, CallerGone},
		{context.DeadlineExceeded, CallerGone},
		{reply("LOADING Redis is loading"), Loading},
		{reply("MASTERDOWN Link with MASTER is down"), Loading},
		{reply("NOREPLICAS Not enough good replicas"), Loading},
		{reply("ERR max number of clients reached"), MaxClients},
		{reply("READONLY You can't write against a read only replica."), ReadOnly},
		{reply("CLUSTERDOWN The cluster is down"), ClusterChurn},
		{reply("TRYAGAIN Multiple keys request during rehashing"), ClusterChurn},
		{reply("MOVED 3999 127.0.0.1:6381"), Redirect},
		{reply("ASK 3999 127.0.0.1:6381"), Redirect},
		{reply("BUSY Redis is busy running a script"), Unable},
		{reply("MISCONF Redis is configured to save RDB snapshots"), Unable},
		{reply("WRONGPASS invalid username-password pair"), Auth},
		{reply("NOAUTH Authentication required."), Auth},
		{reply("NOPERM this user has no permissions"), Auth},
		{reply("ERR invalid password"), Auth},
		{reply("ERR AUTH <password> called without any password configured"), Auth},
		{fmt.Errorf("wrapped: %w", reply("LOADING x")), Loading},
		{op("read", os.ErrDeadlineExceeded), Timeout},
		{netErr{timeout: true}, Timeout},
		{op("read", syscall.ECONNRESET), Dropped},
		{op("write", errors.New("anything")), Dropped},
		{io.EOF, Dropped},
		{io.ErrUnexpectedEOF, Dropped},
		{net.ErrClosed, Dropped},
		{syscall.EPIPE, Dropped},
		{syscall.ECONNREFUSED, Dropped},
		{netErr{}, Network},
		{errors.New("redis: can't parse reply"), Other},
	} {
		if got := table.Kind(tc.err); got != tc.want {
			t.Errorf("Kind(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestZeroTable: a table without sentinels of its own (breaker.IsFailure's)
// does not know a program's errors.
func TestZeroTable(t *testing.T) {
	var zero Table
	if k := zero.Kind(errMine); k != Other {
		t.Errorf("zero table: Kind(errMine) = %v, want Other", k)
	}
	if k := zero.Kind(errRefused); k != Other {
		t.Errorf("zero table: Kind(errRefused) = %v, want Other", k)
	}
}

// TestRows spells every row out: a change to the table changes this test.
func TestRows(t *testing.T) {
	const (
		ex = Excluded
		ju = Judged
	)
	want := map[Phase]map[Kind]Row{
		Command: {
			OK:           {Breaker: ju},
			Answer:       {Breaker: ju},
			DialRefused:  {Resend: Always, Gone: true, Breaker: ex, DefaultFailure: true},
			DialTimeout:  {Resend: Always, Breaker: ex, DefaultFailure: true},
			NotSent:      {Resend: Always, Breaker: ex, DefaultFailure: true},
			Switched:     {Resend: IfReadOnly, MayHaveRun: true, Breaker: ex, DefaultFailure: true},
			Refused:      {Breaker: ex},
			PoolTimeout:  {Breaker: ex, DefaultFailure: true},
			CallerGone:   {Breaker: ex},
			Loading:      {Resend: AfterBackoff, Breaker: ju, DefaultFailure: true},
			MaxClients:   {Resend: AfterBackoff, Breaker: ju, DefaultFailure: true},
			ReadOnly:     {Resend: AfterBackoff, Lost: IfMaster, Breaker: ex, DefaultFailure: true},
			ClusterChurn: {Resend: AfterBackoff, Breaker: ex, DefaultFailure: true},
			Redirect:     {Breaker: ex},
			Unable:       {Breaker: ju, DefaultFailure: true},
			Auth:         {Breaker: ex},
			Timeout:      {Lost: Yes, MayHaveRun: true, Breaker: ex, DefaultFailure: true},
			Dropped:      {Resend: IfReadOnly, Lost: Yes, MayHaveRun: true, Gone: true, Breaker: ex, DefaultFailure: true},
			Network:      {Breaker: ju, DefaultFailure: true},
			Other:        {Breaker: ju},
			Abandoned:    {Breaker: ex},
		},
		Setup: {
			MaxClients: {Resend: Always, Breaker: ex, DefaultFailure: true},
			Auth:       {Lost: Yes, Breaker: ex},
			Timeout:    {Resend: Always, Lost: Yes, Breaker: ex, DefaultFailure: true},
			Dropped:    {Resend: Always, Lost: Yes, Gone: true, Breaker: ex, DefaultFailure: true},
			Abandoned:  {Resend: Always, Breaker: ex},
			Switched:   {Resend: Always, Breaker: ex},
		},
	}
	for p := range numPhases {
		for k := range numKinds {
			w, ok := want[p][k]
			if !ok {
				w = want[Command][k] // the Setup phase's other rows are the Command's
			}
			got := Of(k, p)
			if got.Why == "" {
				t.Errorf("phase %d, kind %v: the row says not why", p, k)
			}
			got.Why = ""
			if got != w {
				t.Errorf("phase %d, kind %v: %+v, want %+v", p, k, got, w)
			}
		}
	}
}

func TestOfCall(t *testing.T) {
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	gone, cancel2 := context.WithCancel(context.Background())
	cancel2()
	timeout := op("read", os.ErrDeadlineExceeded)
	reset := op("read", syscall.ECONNRESET)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want Kind
	}{
		{"timeout, caller waiting", context.Background(), timeout, Timeout},
		{"timeout after the deadline", past, timeout, Abandoned},
		{"reset after the caller cancelled", gone, reset, Abandoned},
		{"reset, caller waiting", context.Background(), reset, Dropped},
		{"a reply after the deadline is still a reply", past, reply("LOADING x"), Loading},
		{"never sent after the deadline", past, errMine, NotSent},
	} {
		for _, p := range []Phase{Command, Setup} {
			k, row := table.OfCall(tc.ctx, tc.err, p)
			if k != tc.want || row != Of(tc.want, p) {
				t.Errorf("%s, phase %d: %v %+v, want %v", tc.name, p, k, row, tc.want)
			}
		}
	}
}

func TestIsErrorReply(t *testing.T) {
	for _, c := range []byte("+:$*%~>_,#(=|") {
		if IsErrorReply(c) {
			t.Errorf("IsErrorReply(%q) = true", c)
		}
	}
	for _, c := range []byte("-!") {
		if !IsErrorReply(c) {
			t.Errorf("IsErrorReply(%q) = false", c)
		}
	}
}
