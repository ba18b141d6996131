package accounts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The example user files in deploy/users must stay valid documentation: each
// parses once copied to a real name, except for the placeholder hash that is
// rejected on purpose.
func TestExampleUserFiles(t *testing.T) {
	env := func(string) (string, bool) { return "secret", true }
	tests := []struct {
		file      string
		wantField string // "" = must parse
	}{
		{"alice@example.com.example.yaml", ""},
		{"bob@example.com.example.yaml", "login.device_password_bcrypt"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "deploy", "users", tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := AddressFromFileName(tc.file); ok {
				t.Errorf("%s would be loaded as a user", tc.file)
			}
			_, err = ParseUserFile(path, "someone@example.com", data, env)
			var fe FileError
			switch {
			case tc.wantField == "" && err != nil:
				t.Errorf("ParseUserFile: %v", err)
			case tc.wantField != "" && (!errors.As(err, &fe) || fe.Field != tc.wantField):
				t.Errorf("ParseUserFile = %v, want only the placeholder %s rejected", err, tc.wantField)
			}
		})
	}
	// And the directory that holds them loads no user and reports no problem.
	d := openTestDirectory(t, filepath.Join("..", "..", "deploy", "users"))
	if len(d.Users()) != 0 || len(d.Problems()) != 0 {
		t.Errorf("deploy/users: users %v problems %v, want none", d.Users(), d.Problems())
	}
}
