package network

import (
	"reflect"
	"testing"
)

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts([]string{"8080:80", "127.0.0.1:53:53/udp", "9000-9001:90-91", "8000-8010:70", "443"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Port{
		{HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 53, ContainerPort: 53, Proto: "udp"},
		{HostPort: 9000, ContainerPort: 90, Proto: "tcp"},
		{HostPort: 9001, ContainerPort: 91, Proto: "tcp"},
		{ContainerPort: 70, Proto: "tcp", hostRange: [2]int{8000, 8010}},
		{ContainerPort: 443, Proto: "tcp"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePorts:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"abc", "80:80:80:x", "1-3:4-5", "80/sctp", "[::1]:80:80", "70000"} {
		if _, err := ParsePorts([]string{bad}); err == nil {
			t.Errorf("ParsePorts(%q) accepted it", bad)
		}
	}
}

func TestExposedAndSummary(t *testing.T) {
	got, err := Exposed(map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8080": {}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Port{{ContainerPort: 53, Proto: "udp"}, {ContainerPort: 80, Proto: "tcp"}, {ContainerPort: 8080, Proto: "tcp"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Exposed: %+v", got)
	}
	ps := []Port{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, {HostIP: "127.0.0.1", HostPort: 53, ContainerPort: 53, Proto: "udp"}}
	if s := Summary(ps); s != "0.0.0.0:8080->80/tcp, 127.0.0.1:53->53/udp" {
		t.Errorf("Summary = %q", s)
	}
	if s := ps[0].String(); s != "80/tcp -> 0.0.0.0:8080" {
		t.Errorf("String = %q", s)
	}
}
