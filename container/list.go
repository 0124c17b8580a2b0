package container

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/builder-dev/builder/filters"
	"github.com/builder-dev/builder/format"
	"github.com/builder-dev/builder/network"
	"github.com/docker/go-units"
)

// ListOptions are `builder ps` flags.
type ListOptions struct {
	All     bool
	Quiet   bool
	NoTrunc bool
	Format  string
	// Filters are docker's: id=, name=, label=, status=, exited=,
	// ancestor=.
	Filters []string
}

// Row is one line of `builder ps`; --format templates see its fields.
type Row struct {
	ID         string
	Image      string
	Command    string
	CreatedAt  string
	RunningFor string
	Status     string
	State      string
	Ports      string
	Names      string
}

// List writes the containers in docker's ps format.
func (m Manager) List(ctx context.Context, o ListOptions, w io.Writer) error {
	all, err := m.records().list(ctx, m.Runtime)
	if err != nil {
		return err
	}
	f, err := filtersFor(o.Filters)
	if err != nil {
		return err
	}
	// As docker's: status= and exited= look at stopped containers too.
	stopped := o.All || len(f["status"]) > 0 || len(f["exited"]) > 0
	var rows []Row
	for _, c := range all {
		if !stopped && !c.Running {
			continue
		}
		r := row(c, o.NoTrunc)
		if !psMatch(f, c, r) {
			continue
		}
		rows = append(rows, r)
	}
	tmpl := format.Template(o.Format, o.Quiet, "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}")
	return format.Rows(w, tmpl, rows, map[string]string{"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
		"CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Status": "STATUS", "State": "STATE", "Ports": "PORTS", "Names": "NAMES"})
}

func row(c *Container, noTrunc bool) Row {
	r := Row{ID: c.ID, Image: c.Image, Names: c.Name, CreatedAt: c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: units.HumanDuration(time.Since(c.Created)) + " ago"}
	cmd := strings.Join(c.Args, " ")
	if !noTrunc {
		r.ID = c.ID[:12]
		cmd = format.Ellipsis(cmd, 20)
	}
	r.Command = fmt.Sprintf("%q", cmd)
	if c.Running && c.Attachment != nil {
		r.Ports = network.Summary(c.Attachment.Ports)
	}
	switch {
	case c.Paused:
		r.State = "paused"
		r.Status = "Up " + units.HumanDuration(time.Since(c.StartedAt)) + " (Paused)"
	case c.Running:
		r.State = "running"
		r.Status = "Up " + units.HumanDuration(time.Since(c.StartedAt))
	case c.StartedAt.IsZero():
		r.State, r.Status = "created", "Created"
	default:
		r.State = "exited"
		finished := c.FinishedAt
		if finished.IsZero() {
			// builder was killed before it could record the exit.
			finished = c.StartedAt
		}
		r.Status = fmt.Sprintf("Exited (%d) %s ago", c.ExitCode, units.HumanDuration(time.Since(finished)))
	}
	return r
}

// filtersFor parses ps's --filter values.
func filtersFor(values []string) (filters.Args, error) {
	return filters.Parse(values, "id", "name", "label", "status", "exited", "ancestor")
}

// psMatch reports whether c (listed as r) passes ps's filters f.
func psMatch(f filters.Args, c *Container, r Row) bool {
	return f.Any("id", func(v string) bool { return strings.HasPrefix(c.ID, v) }) &&
		f.Any("name", func(v string) bool { return strings.Contains(c.Name, v) }) &&
		f.Labels(c.Config.Labels) &&
		f.Any("status", func(v string) bool { return r.State == v }) &&
		f.Any("exited", func(v string) bool { return r.State == "exited" && strconv.Itoa(c.ExitCode) == v }) &&
		f.Any("ancestor", func(v string) bool {
			return c.Image == v || strings.HasPrefix(strings.TrimPrefix(c.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:"))
		})
}
