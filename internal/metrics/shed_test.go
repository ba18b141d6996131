package metrics

import (
	"strings"
	"testing"
)

func TestConnectionShed(t *testing.T) {
	m := New()
	m.ConnectionShed()
	m.ConnectionShed()
	if text := scrape(t, m); !strings.Contains(text, "idlebridge_connections_shed_total 2") {
		t.Errorf("exposition lacks the shed count:\n%s", text)
	}
	var nilM *Metrics
	nilM.ConnectionShed() // no-op
}
