// Package format writes docker-style output: tables aligned as docker's,
// --format Go templates (docker's template functions), and json lines.
package format

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/docker/cli/templates"
)

// Ellipsis cuts s to max runes with "…", as docker's stringutils does.
func Ellipsis(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// Template picks a listing's template as docker does: -q prints IDs only,
// no --format (or "table") prints the command's default table, any other
// --format value is used as given.
func Template(format string, quiet bool, table string) string {
	switch {
	case quiet:
		return "{{.ID}}"
	case format == "" || format == "table":
		return table
	}
	return format
}

// Rows renders rows (a slice of structs) with a docker --format value.
func Rows[T any](w io.Writer, format string, rows []T, headers map[string]string) error {
	if format == "json" {
		for _, r := range rows {
			dt, err := json.Marshal(r)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(dt))
		}
		return nil
	}
	table := strings.HasPrefix(format, "table")
	format = strings.TrimLeft(strings.TrimPrefix(format, "table"), " ")
	tmpl, err := templates.Parse(format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		if err := tmpl.Execute(out, headers); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(out)
	}
	for _, r := range rows {
		if err := tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(out)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// Inspect writes items as docker's inspect verbs do: an indented JSON
// array without tmplText (or with "json"), else tmplText executed once per
// item on the item's JSON shape, as docker's templates see it.
func Inspect[T any](w io.Writer, tmplText string, items []T) error {
	if tmplText == "" || tmplText == "json" {
		dt, err := json.MarshalIndent(items, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", dt)
		return err
	}
	tmpl, err := templates.Parse(tmplText)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	for _, it := range items {
		var v any
		dt, _ := json.Marshal(it)
		json.Unmarshal(dt, &v)
		if err := tmpl.Execute(w, v); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(w)
	}
	return nil
}
