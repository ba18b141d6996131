package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An empty 200 to a FolderSync (a broken server or proxy) is an error, not
// a panic in the device that asked.
func TestFolderSyncEmptyAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, User: "u", Password: "p", DeviceID: "d", DeviceType: "t"}
	_, err := c.FolderSync(context.Background(), "0")
	if err == nil || !strings.Contains(err.Error(), "without a WBXML document") {
		t.Fatalf("FolderSync on an empty 200 = %v; want the error", err)
	}
	if got := (&Response{}).Status(); got != "" {
		t.Fatalf("Status without a document = %q", got)
	}
}
