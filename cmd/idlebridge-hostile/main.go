// Command idlebridge-hostile replays issue 17's resource attacks against a
// running bridge on loopback and reports what they cost it: peak RSS
// (VmHWM) and RSS for floods of headers and of large bodies, how long slow
// bodies keep their connections, and the CPU the bridge spends after a
// client that sent a Sync of many string pieces has gone.
//
//	idlebridge-hostile --url http://127.0.0.1:8080 --pid $(pidof idlebridge) \
//	    --user alice@example.test --password pass headers
//
// Scenarios: headers, bodies, slowbody, pieces. Start a fresh bridge for
// each: VmHWM is the process's peak since it started. Only loopback
// targets are accepted, and every count is bounded.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

type opts struct {
	url, user, pass string
	pid             int
	conns           int
	size            int
	wait            time.Duration
}

func main() {
	var o opts
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080", "the bridge (loopback only)")
	flag.IntVar(&o.pid, "pid", 0, "the bridge's process id, for RSS and CPU")
	flag.StringVar(&o.user, "user", "", "a user of the bridge (bodies, slowbody, pieces)")
	flag.StringVar(&o.pass, "password", "", "that user's password")
	flag.IntVar(&o.conns, "n", 0, "connections or requests (default per scenario)")
	flag.IntVar(&o.size, "size", 0, "bytes of headers or body per connection (default per scenario)")
	flag.DurationVar(&o.wait, "wait", 90*time.Second, "the longest to wait for the bridge to close a slow body")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: idlebridge-hostile [flags] headers|bodies|slowbody|pieces")
		os.Exit(2)
	}
	if err := run(o, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "idlebridge-hostile:", err)
		os.Exit(1)
	}
}

func run(o opts, scenario string) error {
	u, err := url.Parse(o.url)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
		return errors.New("--url must be plain http on a loopback address")
	}
	addr := u.Host
	switch scenario {
	case "headers":
		return headers(o, addr, def(o.conns, 1000, 2000), def(o.size, 1<<20, 4<<20))
	case "bodies":
		return bodies(o, addr, def(o.conns, 8, 64), def(o.size, 32<<20-64<<10, 64<<20))
	case "slowbody":
		return slowBodies(o, addr, def(o.conns, 500, 2000))
	case "pieces":
		return pieces(o, addr, def(o.size, 640_000, 2_000_000))
	}
	return fmt.Errorf("unknown scenario %q", scenario)
}

// def is v, or d when v is unset; never more than max.
func def(v, d, max int) int {
	if v <= 0 {
		v = d
	}
	return min(v, max)
}

// mem reads VmRSS and VmHWM (peak) of pid in MB.
func mem(pid int) (rss, peak float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// cpu reads utime+stime of pid.
func cpu(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func report(o opts, what string) {
	rss, peak := mem(o.pid)
	fmt.Printf("%s: RSS %.0f MB, peak RSS %.0f MB\n", what, rss, peak)
}

// headers opens n connections at once, each sending size bytes of header
// lines without credentials, and counts how each ended.
func headers(o opts, addr string, n, size int) error {
	report(o, "before")
	var mu sync.Mutex
	ends := map[string]int{}
	var wg sync.WaitGroup
	line := "X-Filler: " + strings.Repeat("h", 990) + "\r\n"
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := func(s string) { mu.Lock(); ends[s]++; mu.Unlock() }
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				end("dial failed")
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(60 * time.Second))
			go func() {
				w := bufio.NewWriterSize(c, 64<<10)
				_, _ = io.WriteString(w, "POST /Microsoft-Server-ActiveSync?Cmd=Sync HTTP/1.1\r\nHost: bridge\r\n")
				for sent := 0; sent < size; sent += len(line) {
					if _, err := io.WriteString(w, line); err != nil {
						return
					}
				}
				_, _ = io.WriteString(w, "\r\n")
				_ = w.Flush()
			}()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				end("closed without an answer")
				return
			}
			resp.Body.Close()
			end(strconv.Itoa(resp.StatusCode))
		}()
	}
	wg.Wait()
	fmt.Printf("%d connections x %d header bytes: %v\n", n, size, ends)
	report(o, "after")
	return nil
}

// device provisions a device of the configured user.
func device(o opts, addr, id, version string) (*client.Client, error) {
	if o.user == "" {
		return nil, errors.New("--user and --password are needed")
	}
	c := &client.Client{BaseURL: "http://" + addr, User: o.user, Password: o.pass, DeviceID: id, Version: version, DeviceType: "Hostile"}
	if _, err := c.Provision(context.Background()); err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	return c, nil
}

// bodies sends n SendMail requests of size bytes at once (a MIME without
// recipients, so nothing is delivered: the bridge reads, decodes and
// refuses it).
func bodies(o opts, addr string, n, size int) error {
	c, err := device(o, addr, "hostilebodies", "14.1")
	if err != nil {
		return err
	}
	mime := append([]byte("From: "+o.user+"\r\nSubject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"), size/66)...)
	req := wbxml.New(wbxml.ComposeMail, "SendMail")
	req.AddText(wbxml.ComposeMail, "ClientId", "hostile-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	req.AddOpaque(wbxml.ComposeMail, "Mime", mime)
	body, err := wbxml.Encode(req)
	if err != nil {
		return err
	}
	report(o, "before")
	var mu sync.Mutex
	ends := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := *c
			res, err := cc.DoRaw(context.Background(), "SendMail", client.Params{}, body, "application/vnd.ms-sync.wbxml")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && res != nil:
				ends["HTTP "+strconv.Itoa(res.HTTPStatus)]++
			case err != nil:
				ends["error"]++
			default:
				ends["Status "+res.Status()]++
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%d x %d-byte SendMail bodies in %v: %v\n", n, len(body), time.Since(start).Round(time.Millisecond), ends)
	report(o, "after")
	return nil
}

// slowBodies opens n authenticated requests whose bodies trickle at one
// byte per second: half declare 1 GB, half 1 MB; it reports how long the
// bridge kept each connection open.
func slowBodies(o opts, addr string, n int) error {
	c, err := device(o, addr, "hostileslow", "14.1")
	if err != nil {
		return err
	}
	auth := base64.StdEncoding.EncodeToString([]byte(o.user + ":" + o.pass))
	type result struct {
		declared int
		held     time.Duration
		code     string
	}
	results := make(chan result, n)
	for i := range n {
		declared := 1 << 30
		if i%2 == 1 {
			declared = 1 << 20
		}
		go func() {
			start := time.Now()
			conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				results <- result{declared, 0, "dial failed"}
				return
			}
			defer conn.Close()
			_ = conn.SetDeadline(start.Add(o.wait))
			fmt.Fprintf(conn, "POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=x&DeviceId=hostileslow&DeviceType=Hostile HTTP/1.1\r\n"+
				"Host: bridge\r\nAuthorization: Basic %s\r\nMS-ASProtocolVersion: 14.1\r\nX-MS-PolicyKey: %d\r\n"+
				"Content-Type: application/vnd.ms-sync.wbxml\r\nContent-Length: %d\r\n\r\n", auth, c.PolicyKey, declared)
			answered := make(chan string, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					answered <- "closed"
					return
				}
				answered <- strconv.Itoa(resp.StatusCode)
			}()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case code := <-answered:
					results <- result{declared, time.Since(start), code}
					return
				case <-tick.C:
					if _, err := conn.Write([]byte{0x03}); err != nil {
						results <- result{declared, time.Since(start), "write failed: " + <-answered}
						return
					}
				}
			}
		}()
	}
	byDeclared := map[int][]time.Duration{}
	codes := map[string]int{}
	for range n {
		r := <-results
		byDeclared[r.declared] = append(byDeclared[r.declared], r.held)
		codes[fmt.Sprintf("%d bytes declared: %s", r.declared, r.code)]++
	}
	for declared, ds := range byDeclared {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("%d slow bodies declaring %d bytes: held open median %v, max %v\n",
			len(ds), declared, ds[len(ds)/2].Round(100*time.Millisecond), ds[len(ds)-1].Round(100*time.Millisecond))
	}
	fmt.Printf("answers: %v\n", codes)
	return nil
}

// pieces sends a Sync whose SyncKey is made of n one-byte STR_I pieces,
// closes the connection as soon as it is written, and reports the CPU the
// bridge uses over the following 20 s.
func pieces(o opts, addr string, n int) error {
	c, err := device(o, addr, "hostilepieces", "14.1")
	if err != nil {
		return err
	}
	b := []byte{0x03, 0x01, 0x6A, 0x00, 0x45, 0x5C, 0x4F, 0x4B} // <Sync><Collections><Collection><SyncKey>
	for range n {
		b = append(b, 0x03, '1', 0x00)
	}
	b = append(b, 0x01, 0x01, 0x01, 0x01)
	auth := base64.StdEncoding.EncodeToString([]byte(o.user + ":" + o.pass))
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	cpu0 := cpu(o.pid)
	fmt.Fprintf(conn, "POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=x&DeviceId=hostilepieces&DeviceType=Hostile HTTP/1.1\r\n"+
		"Host: bridge\r\nAuthorization: Basic %s\r\nMS-ASProtocolVersion: 14.1\r\nX-MS-PolicyKey: %d\r\n"+
		"Content-Type: application/vnd.ms-sync.wbxml\r\nContent-Length: %d\r\n\r\n", auth, c.PolicyKey, len(b))
	if _, err := conn.Write(b); err != nil {
		return err
	}
	_ = conn.Close()
	gone := time.Now()
	fmt.Printf("sent a %d-byte Sync of %d pieces and left\n", len(b), n)
	for i := 1; i <= 4; i++ {
		time.Sleep(5 * time.Second)
		fmt.Printf("  %2.0f s after the client left: bridge CPU since the request %v\n", time.Since(gone).Seconds(), (cpu(o.pid) - cpu0).Round(10*time.Millisecond))
	}
	report(o, "after")
	return nil
}
