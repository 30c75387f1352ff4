// Package redact hides credentials in texts that may quote them: errors,
// events, health answers. It is shared by the client and its health
// endpoints, which hide the credentials of plain go-redis clients as well.
//
// Contract: Text replaces every given secret, and its escaped forms, by
// Mask. URL shows a Redis URL with no user info and no value of a query
// parameter whose name may hold a secret, however badly the URL is written;
// QuerySecrets and RawURLPassword find those values for Text, and URLError
// describes a url.Parse error without quoting any of them.
package redact

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Mask stands in for a secret wherever a text would show it.
const Mask = "xxxxx"

// Text replaces every occurrence of each non-empty secret in msg with Mask,
// as it is and as a server or an encoder may have escaped it (Go and JSON
// quoting, percent-encoding).
func Text(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, Mask)
		for _, form := range escapedForms(s) {
			msg = strings.ReplaceAll(msg, form, Mask)
		}
	}
	return msg
}

// escapedForms returns the ways s may be written escaped that differ from s.
func escapedForms(s string) []string {
	var forms []string
	q := strconv.Quote(s)
	if q = q[1 : len(q)-1]; q != s {
		forms = append(forms, q)
	}
	if j, err := json.Marshal(s); err == nil {
		if js := string(j[1 : len(j)-1]); js != s && !slices.Contains(forms, js) {
			forms = append(forms, js)
		}
	}
	for _, e := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		if e != s && !slices.Contains(forms, e) {
			forms = append(forms, e)
		}
	}
	return forms
}

// Credentials are the secrets a username and password pair gives: the
// password, and the username with it, unless it is Redis's "default".
func Credentials(username, password string) []string {
	if password == "" {
		return nil
	}
	if username == "" || username == "default" {
		return []string{password}
	}
	return []string{password, username}
}
