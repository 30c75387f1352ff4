package doctor

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
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
			cells = append(cells, c.Node)
		}
		cells = append(cells, c.ID, oneLine(c.Detail), oneLine(c.Advice))
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// A check with nothing to do leaves its line padded: trim it.
	for line := range strings.Lines(table.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
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
		_, err := fmt.Fprintf(w, "audit incomplete: %s\n", oneLine(r.Err.Error()))
		return err
	}
	return nil
}

// oneLine keeps a table cell on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
