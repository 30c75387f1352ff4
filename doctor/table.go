package doctor

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// WriteTable writes the report for people: one line per check (status,
// check, what was found, what to do), a NODE column when the audit covered
// several servers, then a summary line, and the reason when the audit could
// not run to its end.
func (r Report) WriteTable(w io.Writer) error {
	multiNode := false
	for _, c := range r.Checks {
		if c.Node != "" {
			multiNode = true
			break
		}
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	if len(r.Checks) > 0 {
		if multiNode {
			fmt.Fprintln(tw, "STATUS\tNODE\tCHECK\tFOUND\tTO DO")
		} else {
			fmt.Fprintln(tw, "STATUS\tCHECK\tFOUND\tTO DO")
		}
	}
	for _, c := range r.Checks {
		cells := []string{strings.ToUpper(string(c.Status))}
		if multiNode {
			cells = append(cells, cell(c.Node))
		}
		cells = append(cells, cell(c.ID), cell(c.Detail), cell(c.Advice))
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// A check with nothing to do leaves its line padded: trim it.
	written := 0
	for line := range strings.Lines(table.String()) {
		line = strings.TrimRight(line, " \n") + "\n"
		if written += len(line); written > maxTable {
			_, err := fmt.Fprintf(w, "… the table is cut at %d bytes\n", maxTable)
			if err != nil {
				return err
			}
			break
		}
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
	}
	if len(r.Checks) > 0 {
		if _, err := fmt.Fprintf(w, "\n%d checks, role %s: %d pass, %d warn, %d fail, %d skip\n",
			len(r.Checks), r.Role, r.Count(Pass), r.Count(Warn), r.Count(Fail), r.Count(Skip)); err != nil {
			return err
		}
	}
	if r.Err != nil {
		_, err := fmt.Fprintf(w, "audit incomplete: %s\n", cut(escapeControls(oneLine(r.Err.Error())), maxText))
		return err
	}
	if r.mostlySkipped() {
		_, err := fmt.Fprintf(w, "could not audit: %d of %d checks skipped\n", r.Count(Skip), len(r.Checks))
		return err
	}
	return nil
}

// The bounds of what a report shows, whatever a server sends: a check's
// detail or advice (bytes, in the report and its JSON), a cell of the table
// (bytes), the whole table (bytes).
const (
	maxText  = 4 << 10
	maxCell  = 400
	maxTable = 1 << 20
)

// cell is s fit for a table cell: on one line, its control characters
// escaped, at most maxCell bytes.
func cell(s string) string {
	return cut(escapeControls(oneLine(s)), maxCell)
}

// oneLine keeps a table cell on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// cut returns s, or its first bytes up to max (on a character's boundary)
// and an ellipsis.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	end := max - len("…")
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "…"
}

// escapeControls writes the characters that would act on a terminal instead
// of showing (control characters, such as ESC and its sequences; the marks
// that reorder text) and invalid UTF-8 as Go escapes, so that nothing a
// server sends can move the cursor, recolour or rewrite the table.
func escapeControls(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
