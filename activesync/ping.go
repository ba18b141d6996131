package activesync

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

const (
	metaPingFolders   = "ping.folders"
	metaPingHeartbeat = "ping.heartbeat"
)

// Default heartbeat bounds; Server.MinHeartbeat/MaxHeartbeat override.
const (
	DefaultMinHeartbeat   = 60 * time.Second
	DefaultMaxHeartbeat   = 3540 * time.Second
	DefaultMaxPingFolders = 300
)

func pinger(b Backend) bool { _, ok := b.(Pinger); return ok }

func (s *Server) heartbeatBounds() (time.Duration, time.Duration) {
	lo, hi := s.MinHeartbeat, s.MaxHeartbeat
	if lo <= 0 {
		lo = DefaultMinHeartbeat
	}
	if hi <= 0 {
		hi = DefaultMaxHeartbeat
	}
	return lo, hi
}

func (s *Server) maxPingFolders() int {
	if s.MaxPingFolders > 0 {
		return s.MaxPingFolders
	}
	return DefaultMaxPingFolders
}

// handlePing answers Ping (MS-ASCMD 2.2.1.13). The folder list and the
// heartbeat are remembered per device, so a Ping without them (or
// without a body) reuses the last ones.
func handlePing(ctx context.Context, c *call) (*wbxml.Element, error) {
	lo, hi := c.s.heartbeatBounds()

	var folders []PingFolder
	hbText := ""
	if c.req != nil {
		hbText = c.req.ChildText(wbxml.Ping, "HeartbeatInterval")
		for _, f := range c.req.Child(wbxml.Ping, "Folders").All(wbxml.Ping, "Folder") {
			id := f.ChildText(wbxml.Ping, "Id")
			if id == "" {
				return c.pingStatus(PingStatusProtocolError), nil
			}
			folders = append(folders, PingFolder{ID: id, Class: f.ChildText(wbxml.Ping, "Class")})
		}
	}
	if len(folders) > c.s.maxPingFolders() {
		resp := c.pingStatus(PingStatusTooManyFolders)
		resp.AddText(wbxml.Ping, "MaxFolders", strconv.Itoa(c.s.maxPingFolders()))
		return resp, nil
	}
	var hb time.Duration
	if hbText != "" {
		n, err := strconv.Atoi(hbText)
		if err != nil {
			return c.pingStatus(PingStatusProtocolError), nil
		}
		hb = time.Duration(n) * time.Second
		if hb < lo || hb > hi {
			limit := lo
			if hb > hi {
				limit = hi
			}
			resp := c.pingStatus(PingStatusBadHeartbeat)
			resp.AddText(wbxml.Ping, "HeartbeatInterval", strconv.Itoa(int(limit/time.Second)))
			return resp, nil
		}
	}
	// Fill what the request left out from the device's last Ping.
	if hb == 0 {
		if n, err := strconv.Atoi(c.dev.Meta[metaPingHeartbeat]); err == nil && n > 0 {
			hb = min(max(time.Duration(n)*time.Second, lo), hi)
		}
	}
	if len(folders) == 0 {
		folders = decodePingFolders(c.dev.Meta[metaPingFolders])
	}
	if hb == 0 || len(folders) == 0 {
		return c.pingStatus(PingStatusMissingParams), nil
	}
	if err := c.rememberPing(ctx, folders, hb); err != nil {
		return nil, err
	}

	// A parked Ping keeps as little as possible: thousands wait at once,
	// and the request tree, device record, query and account are not
	// needed to answer.
	c.req, c.dev = nil, nil
	pw := newPingWait()
	stop, err := c.s.Backend.(Pinger).Ping(ctx, c.acct, c.q.DeviceID, folders, hb, pw.done)
	if err != nil {
		return c.pingAnswer(nil, err)
	}
	c.q, c.acct = nil, nil
	if c.detach(pw, stop, c.pingAnswer) {
		return nil, errDetached
	}
	return c.pingAnswer(pw.wait(ctx, stop))
}

// pingAnswer turns what the Pinger reported into the Ping response.
func (c *call) pingAnswer(changed []string, err error) (*wbxml.Element, error) {
	if err != nil {
		if code, ok := commandStatusOf(err); ok {
			return c.pingStatus(code), nil
		}
		return nil, err
	}
	if len(changed) == 0 {
		return c.pingStatus(PingStatusExpired), nil
	}
	resp := c.pingStatus(PingStatusChanges)
	fs := resp.Add(wbxml.Ping, "Folders")
	for _, id := range changed {
		fs.AddText(wbxml.Ping, "Folder", id)
	}
	c.log.Info("ping: changes", "folders", strings.Join(changed, ","))
	return resp, nil
}

// pingStatus starts a Ping response with its Status.
func (c *call) pingStatus(code int) *wbxml.Element {
	resp := wbxml.New(wbxml.Ping, "Ping")
	resp.AddText(wbxml.Ping, "Status", strconv.Itoa(code))
	c.status = Status(code)
	return resp
}

// rememberPing stores the folder set and heartbeat when they changed.
func (c *call) rememberPing(ctx context.Context, folders []PingFolder, hb time.Duration) error {
	enc := encodePingFolders(folders)
	hbs := strconv.Itoa(int(hb / time.Second))
	if c.dev.Meta[metaPingFolders] == enc && c.dev.Meta[metaPingHeartbeat] == hbs {
		return nil
	}
	_, err := c.s.Backend.UpdateDevice(ctx, c.acct, c.q.DeviceID, func(d *Device) error {
		if d.Meta == nil {
			d.Meta = map[string]string{}
		}
		d.Meta[metaPingFolders] = enc
		d.Meta[metaPingHeartbeat] = hbs
		return nil
	})
	return err
}

// encodePingFolders renders "id/class,id/class"; IDs and classes never
// contain '/' or ','.
func encodePingFolders(fs []PingFolder) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.ID)
		b.WriteByte('/')
		b.WriteString(f.Class)
	}
	return b.String()
}

func decodePingFolders(s string) []PingFolder {
	if s == "" {
		return nil
	}
	var out []PingFolder
	for _, part := range strings.Split(s, ",") {
		id, class, _ := strings.Cut(part, "/")
		if id != "" {
			out = append(out, PingFolder{ID: id, Class: class})
		}
	}
	return out
}
