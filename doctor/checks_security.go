package doctor

import (
	"fmt"
	"slices"
	"strings"
)

const authAdvice = "set requirepass, or give the default user a password (or turn it off) and each service an ACL user of its own"

// checkAuth fails when a connection without credentials is let in.
func checkAuth(f *facts) Check {
	u := f.withoutPwd
	open := f.defaultUserErr == nil && defaultUserOpen(f.defaultUser)
	switch {
	case u.err == nil && u.accepted:
		detail := "a connection without credentials is accepted"
		if open {
			detail += "; the default user is on with nopass"
		}
		return fail(IDAuth, detail, authAdvice)
	case open:
		return fail(IDAuth, "the default user is on with nopass: anyone who reaches the port is let in", authAdvice)
	case u.err == nil && strings.HasPrefix(u.refusal, "DENIED"):
		return warn(IDAuth, "no password: only protected mode refuses connections from other hosts", authAdvice)
	case u.err == nil:
		return pass(IDAuth, fmt.Sprintf("a connection without credentials is refused (%s)", u.refusal))
	case f.defaultUserErr == nil:
		return pass(IDAuth, fmt.Sprintf("the default user has a password or is off (%v)", u.err))
	}
	return skip(IDAuth, fmt.Sprintf("%v; %s", u.err, reason("ACL GETUSER", f.defaultUserErr)))
}

// checkTLS warns when the connection crosses a network in plaintext.
func checkTLS(f *facts) Check {
	var (
		tls       bool
		addr      string
		unix      bool
		fromProbe = f.withoutPwd.remote != nil
	)
	switch {
	case fromProbe:
		tls, addr, unix = f.withoutPwd.tls, f.withoutPwd.remote.String(), f.withoutPwd.remote.Network() == "unix"
	case f.options != nil && f.options.Addr != failoverAddr:
		tls, addr, unix = f.options.TLSConfig != nil, f.options.Addr, f.options.Network == "unix"
	case f.withoutPwd.err != nil:
		return skip(IDTLS, f.withoutPwd.err.Error())
	default:
		return skip(IDTLS, errNoOptions.Error())
	}
	switch {
	case tls:
		return pass(IDTLS, "TLS to "+addr)
	case unix:
		return pass(IDTLS, "a unix socket: nothing crosses the network")
	case isLoopbackHost(hostOf(addr)):
		return pass(IDTLS, "plaintext, to a loopback address ("+addr+")")
	}
	return warn(IDTLS, "plaintext to "+addr+": passwords and data cross the network unencrypted",
		"use rediss:// and the server's tls-port, unless the network between them is one you trust")
}

// checkProtectedMode judges protected-mode by whether anything else keeps
// other hosts out.
func checkProtectedMode(f *facts) Check {
	mode, ok := f.config["protected-mode"]
	if !ok {
		return skip(IDProtectedMode, f.whyNoConfig())
	}
	if mode == "yes" {
		return pass(IDProtectedMode, "on: while no password is set, only loopback clients are served")
	}
	required, known := f.authRequired()
	bind, bindKnown := f.config["bind"]
	switch {
	case known && required:
		return pass(IDProtectedMode, "off, which is fine: every connection must authenticate")
	case !known:
		return warn(IDProtectedMode, "off, and whether connections must authenticate is unknown", "protected-mode yes, unless a password is set")
	case bindKnown && bindsLoopbackOnly(bind):
		return warn(IDProtectedMode, "off and no password: only the loopback bind keeps other hosts out", "set a password, or protected-mode yes")
	}
	return fail(IDProtectedMode, "off, no password, and listening beyond loopback: anyone who reaches the port is let in", "set a password (requirepass or ACL users), or protected-mode yes")
}

// checkBind reports where the server listens, failing an open port without
// a password.
func checkBind(f *facts) Check {
	bind, ok := f.config["bind"]
	if !ok {
		return skip(IDBind, f.whyNoConfig())
	}
	switch {
	case bindsLoopbackOnly(bind):
		return pass(IDBind, fmt.Sprintf("listens on loopback only (bind %s)", bind))
	case !bindsEverywhere(bind):
		return pass(IDBind, fmt.Sprintf("listens on %s only", bind))
	}
	required, known := f.authRequired()
	switch {
	case known && !required && f.config["protected-mode"] == "yes":
		return warn(IDBind, fmt.Sprintf("listens on every interface (bind %q) and asks for no password: only protected mode keeps other hosts out", bind),
			"set a password, and bind to the interfaces the services use")
	case known && !required:
		return fail(IDBind, fmt.Sprintf("listens on every interface (bind %q) and asks for no password", bind),
			"bind to the interfaces the services use, and set a password")
	case !known:
		return warn(IDBind, fmt.Sprintf("listens on every interface (bind %q); whether it asks for a password is unknown", bind),
			"bind to the interfaces the services use, and keep a firewall or NetworkPolicy in front")
	}
	return pass(IDBind, fmt.Sprintf("listens on every interface (bind %q): access rests on the password and the firewall", bind))
}

// bindAddrs returns the addresses of a bind setting, without the "-" that
// marks an optional one.
func bindAddrs(bind string) []string {
	var out []string
	for _, a := range strings.Fields(bind) {
		out = append(out, strings.TrimPrefix(a, "-"))
	}
	return out
}

func bindsLoopbackOnly(bind string) bool {
	addrs := bindAddrs(bind)
	return len(addrs) > 0 && !slices.ContainsFunc(addrs, func(a string) bool { return !isLoopbackHost(a) })
}

func bindsEverywhere(bind string) bool {
	addrs := bindAddrs(bind)
	return len(addrs) == 0 || slices.ContainsFunc(addrs, func(a string) bool {
		return a == "*" || a == "0.0.0.0" || a == "::" || a == "::*"
	})
}

// exposure is whether the client's user may run a dangerous command.
type exposure int

const (
	blocked exposure = iota // renamed away, denied by ACL, or refused by the server
	allowed
	unknown
)

// commandExposure decides, from the strongest evidence at hand, whether the
// client's user may run c; why says how that is known.
func commandExposure(f *facts, c dangerousCommand) (e exposure, why string) {
	answer, dry := f.dryrun[c.name]
	switch {
	case f.present != nil && !f.present[c.name], dry && strings.Contains(answer, "not found"):
		return blocked, "renamed away"
	case dry && answer != "OK":
		return blocked, "denied by ACL"
	case c.name == "CONFIG" && isNoPerm(f.configErr):
		return blocked, "CONFIG not permitted"
	case c.name == "CONFIG" && isUnknownCommand(f.configErr):
		return blocked, "renamed away"
	}
	if c.name == "DEBUG" {
		switch mode, ok := f.config["enable-debug-command"]; {
		case ok && mode == "no":
			return blocked, "enable-debug-command no"
		case ok && mode == "local":
			return blocked, "local connections only"
		case !ok && f.configErr != nil:
			return unknown, "enable-debug-command unknown"
		}
	}
	if dry {
		return allowed, ""
	}
	return unknown, ""
}

// checkDangerousCommands fails when the client's user may wipe the data or
// stall the server, and warns when it may reconfigure it or scan every key.
func checkDangerousCommands(f *facts) Check {
	var open, severe, unsure, safe []string
	for _, c := range dangerousCommands {
		e, why := commandExposure(f, c)
		switch e {
		case allowed:
			open = append(open, c.name)
			if c.severe {
				severe = append(severe, c.name)
			}
		case unknown:
			if why != "" {
				unsure = append(unsure, c.name+" ("+why+")")
			} else {
				unsure = append(unsure, c.name)
			}
		case blocked:
			safe = append(safe, c.name+" ("+why+")")
		}
	}
	if len(safe) == 0 && len(open) == 0 {
		return skip(IDDangerousCommands, fmt.Sprintf("cannot tell whether this user may run %s (%s)",
			strings.Join(names(dangerousCommands), ", "), reasons(reason("ACL DRYRUN", f.dryrunErr), reason("COMMAND INFO", f.presentErr))))
	}
	var parts []string
	if len(open) > 0 {
		parts = append(parts, "this user may run "+strings.Join(open, ", "))
	}
	if len(unsure) > 0 {
		why := "unknown"
		if f.dryrunErr != nil {
			why = "unknown (" + reason("ACL DRYRUN", f.dryrunErr) + ")"
		}
		parts = append(parts, why+": "+strings.Join(unsure, ", "))
	}
	if len(safe) > 0 {
		parts = append(parts, "blocked: "+strings.Join(safe, ", "))
	}
	detail := strings.Join(parts, "; ")
	advice := "deny them to the service's ACL user (-@dangerous), or rename-command them to \"\""
	if len(open) > 0 {
		advice = fmt.Sprintf("deny %s to the service's ACL user (-@dangerous, or %s), or rename-command them to \"\"",
			strings.Join(open, ", "), aclDenials(open))
	}
	switch {
	case len(severe) > 0:
		return fail(IDDangerousCommands, detail, advice)
	case len(open) > 0 || len(unsure) > 0:
		return warn(IDDangerousCommands, detail, advice)
	}
	return pass(IDDangerousCommands, detail)
}

// aclDenials returns the ACL rules that deny commands: "-flushall -keys".
func aclDenials(commands []string) string {
	rules := make([]string, len(commands))
	for i, c := range commands {
		rules[i] = "-" + strings.ToLower(c)
	}
	return strings.Join(rules, " ")
}

func names(cs []dangerousCommand) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.name
	}
	return out
}

// isNoPerm reports whether err is an ACL refusal.
func isNoPerm(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOPERM")
}

// isUnknownCommand reports whether err says the command does not exist.
func isUnknownCommand(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "ERR unknown command")
}
