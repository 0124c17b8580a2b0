package cache

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/builder-dev/builder/format"
	"github.com/docker/go-units"
	"github.com/moby/buildkit/client"
)

// DUOptions are `builder du` flags, buildx du's.
type DUOptions struct {
	Filters []string
	// Verbose prints every record's details (buildx's --verbose, its
	// "pretty" format); Format is a --format template, "table" or "json".
	Verbose bool
	Format  string
}

// Record is one build cache record as du's --format templates see it
// (buildx's fields).
type Record struct {
	ID          string
	Parents     []string
	CreatedAt   string
	Mutable     bool
	Reclaimable bool
	Shared      bool
	Size        string
	Description string
	UsageCount  int
	LastUsedAt  string
	Type        string
}

var recordHeaders = map[string]string{"ID": "ID", "Parents": "PARENTS", "CreatedAt": "CREATED AT", "Mutable": "MUTABLE",
	"Reclaimable": "RECLAIMABLE", "Shared": "SHARED", "Size": "SIZE", "Description": "DESCRIPTION",
	"UsageCount": "USAGE COUNT", "LastUsedAt": "LAST ACCESSED", "Type": "TYPE"}

const duTable = "table {{.ID}}\t{{.Reclaimable}}\t{{.Size}}\t{{.LastUsedAt}}"

// DU writes the build cache's records as buildx du does: a table
// (a mutable record's ID and a shared record's size marked "*"), then the
// shared, private, reclaimable and total sizes when neither a filter nor a
// format of the user's is given.
func DU(ctx context.Context, c *client.Client, o DUOptions, w io.Writer) error {
	if o.Verbose && o.Format != "" {
		return fmt.Errorf("--format and --verbose cannot be used together")
	}
	_, bk, err := recordFilter(o.Filters)
	if err != nil {
		return err
	}
	var opts []client.DiskUsageOption
	if len(bk) > 0 {
		opts = append(opts, client.WithFilter(bk))
	}
	records, err := c.DiskUsage(ctx, opts...)
	if err != nil {
		return fmt.Errorf("read build cache: %w", err)
	}
	if o.Verbose || o.Format == "pretty" {
		for _, r := range records {
			writeRecord(w, r)
		}
	} else {
		table := o.Format == "" || o.Format == "table" || strings.HasPrefix(o.Format, "table ")
		rows := make([]Record, len(records))
		for i, r := range records {
			rows[i] = record(r, table)
		}
		if err := format.Rows(w, format.Template(o.Format, false, duTable), rows, recordHeaders); err != nil {
			return err
		}
	}
	if len(o.Filters) == 0 && (o.Format == "" || o.Format == "table") {
		writeSummary(w, records)
	}
	return nil
}

func record(r *client.UsageInfo, table bool) Record {
	rec := Record{ID: r.ID, Parents: r.Parents, CreatedAt: r.CreatedAt.String(), Mutable: r.Mutable, Reclaimable: !r.InUse,
		Shared: r.Shared, Size: units.HumanSize(float64(r.Size)), Description: r.Description, UsageCount: r.UsageCount,
		Type: string(r.RecordType)}
	if r.LastUsedAt != nil {
		rec.LastUsedAt = units.HumanDuration(time.Since(*r.LastUsedAt)) + " ago"
	}
	if table && r.Mutable {
		rec.ID += "*"
	}
	if table && r.Shared {
		rec.Size += "*"
	}
	return rec
}

// writeRecord writes one record's details, as buildx's prune --verbose
// and du --verbose do.
func writeRecord(w io.Writer, r *client.UsageInfo) {
	tw := tabwriter.NewWriter(w, 1, 8, 1, '\t', 0)
	kv := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	kv("ID", r.ID)
	if len(r.Parents) != 0 {
		kv("Parent", strings.Join(r.Parents, ","))
	}
	kv("Created at", r.CreatedAt)
	kv("Mutable", r.Mutable)
	kv("Reclaimable", !r.InUse)
	kv("Shared", r.Shared)
	kv("Size", units.HumanSize(float64(r.Size)))
	if r.Description != "" {
		kv("Description", r.Description)
	}
	kv("Usage count", r.UsageCount)
	if r.LastUsedAt != nil {
		kv("Last used", units.HumanDuration(time.Since(*r.LastUsedAt))+" ago")
	}
	if r.RecordType != "" {
		kv("Type", r.RecordType)
	}
	fmt.Fprintln(tw)
	tw.Flush()
}

// writeSummary writes du's closing sizes, as buildx does.
func writeSummary(w io.Writer, records []*client.UsageInfo) {
	var total, reclaimable, shared int64
	for _, r := range records {
		if r.Size > 0 {
			total += r.Size
			if !r.InUse {
				reclaimable += r.Size
			}
		}
		if r.Shared {
			shared += r.Size
		}
	}
	tw := tabwriter.NewWriter(w, 1, 8, 1, '\t', 0)
	if shared > 0 {
		fmt.Fprintf(tw, "Shared:\t%s\n", units.HumanSize(float64(shared)))
		fmt.Fprintf(tw, "Private:\t%s\n", units.HumanSize(float64(total-shared)))
	}
	fmt.Fprintf(tw, "Reclaimable:\t%s\n", units.HumanSize(float64(reclaimable)))
	fmt.Fprintf(tw, "Total:\t%s\n", units.HumanSize(float64(total)))
	tw.Flush()
}
