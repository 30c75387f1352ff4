// The empty assembly file lets stripe.go declare the runtime functions it
// reaches with go:linkname without a body.
