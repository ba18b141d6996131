package httpserve

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// DefaultReloadInterval is how often, at most, the certificate files are
// looked at for a change.
const DefaultReloadInterval = 5 * time.Second

// certReloader serves a certificate from a PEM pair on disk and picks up a
// renewal (certbot, an ACME sidecar, cert-manager writing a secret) without
// a restart: on a handshake, at most once per interval, it compares the
// files' modification time and size with what it loaded and re-reads them
// when either changed. A pair that fails to load (the renewal is half
// written) keeps the previous certificate and is tried again next interval.
type certReloader struct {
	certFile, keyFile string
	interval          time.Duration
	now               func() time.Time
	onError           func(error)

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   fileStamp
	checked time.Time
}

// fileStamp identifies one version of the two files.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func newCertReloader(certFile, keyFile string, interval time.Duration, onError func(error)) (*certReloader, error) {
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	r := &certReloader{certFile: certFile, keyFile: keyFile, interval: interval, now: time.Now, onError: onError}
	stamp, err := r.statFiles()
	if err != nil {
		return nil, err
	}
	if err := r.load(stamp); err != nil {
		return nil, err
	}
	r.checked = r.now()
	return r, nil
}

func (r *certReloader) statFiles() (fileStamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls certificate: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls key: %w", err)
	}
	return fileStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// load reads the pair; the caller holds mu or is the constructor.
func (r *certReloader) load(stamp fileStamp) error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate %s / key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.stamp = &cert, stamp
	return nil
}

// GetCertificate is the tls.Config hook.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.checked) < r.interval {
		return r.cert, nil
	}
	r.checked = now
	stamp, err := r.statFiles()
	if err == nil && stamp != r.stamp {
		err = r.load(stamp)
	}
	if err != nil && r.onError != nil {
		r.onError(err)
	}
	return r.cert, nil
}
