package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat. It
// is 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)
// would need cgo).
const clockTicks = 100

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit: every
// simulated device holds a connection. The spawned bridge inherits it.
func raiseNoFile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return rl.Cur, nil
}

// rssBytes reads VmRSS of a process.
func rssBytes(pid int) (int64, error) {
	rss, _, err := memBytes(pid)
	return rss, err
}

// memBytes reads VmRSS and its anonymous part (RssAnon: heap, stacks),
// which leaves out file pages mapped in, such as the embedded store's
// bbolt file and the binary itself.
func memBytes(pid int) (rss, anon int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	if rss, err = parseStatusKB(data, "VmRSS:"); err != nil {
		return 0, 0, err
	}
	anon, err = parseStatusKB(data, "RssAnon:")
	return rss, anon, err
}

// threads reads the thread count of a process.
func threads(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	n, err := parseStatusKB(data, "Threads:")
	return n / 1024, err
}

// parseStatusKB finds "key  <n> kB" (or a bare number) in /proc/<pid>/status
// and returns bytes (n*1024).
func parseStatusKB(data []byte, key string) (int64, error) {
	for line := range bytes.Lines(data) {
		rest, ok := bytes.CutPrefix(line, []byte(key))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", key, f[0], err)
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("no %s in /proc status", key)
}

// cpuTime reads utime+stime of a process.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(data)
}

// parseStatCPU extracts utime+stime (fields 14 and 15) from a
// /proc/<pid>/stat line. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(data []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no command name")
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); utime is field 14 → f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields", len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] {
		// Bounded so the sum and the conversion to a Duration cannot
		// overflow (2^36 ticks is over 20 years of CPU).
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > 1<<36 {
			return 0, fmt.Errorf("/proc stat: bad cpu time %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / clockTicks), nil
}

// upstreamConns counts the ESTABLISHED TCP connections a process holds to
// remotePort: the socket inodes behind /proc/<pid>/fd matched against
// /proc/<pid>/net/tcp and tcp6. This works whether or not the bridge
// exposes metrics, and counts every IMAP connection (IDLE watchers and
// the sync pool alike).
func upstreamConns(pid, remotePort int) (int, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, name))
		if err != nil {
			if name == "tcp6" {
				continue
			}
			return 0, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			e, ok := parseTCPLine(sc.Text())
			if ok && e.state == tcpEstablished && e.remotePort == remotePort && inodes[e.inode] {
				n++
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// socketInodes returns the inodes of the sockets a process has open.
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[uint64]bool, len(ents))
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if s, ok := strings.CutPrefix(target, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				out[n] = true
			}
		}
	}
	return out, nil
}

const tcpEstablished = 1

// tcpEntry is what we need of one /proc/net/tcp line.
type tcpEntry struct {
	remotePort int
	state      int
	inode      uint64
}

// parseTCPLine parses a /proc/net/tcp(6) line:
//
//	sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
//
// Addresses are HEXIP:HEXPORT. The header line and malformed lines give
// ok=false.
func parseTCPLine(line string) (tcpEntry, bool) {
	f := strings.Fields(line)
	if len(f) < 10 {
		return tcpEntry{}, false
	}
	_, portHex, ok := strings.Cut(f[2], ":")
	if !ok {
		return tcpEntry{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return tcpEntry{}, false
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return tcpEntry{}, false
	}
	inode, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return tcpEntry{}, false
	}
	return tcpEntry{remotePort: int(port), state: int(st), inode: inode}, true
}
