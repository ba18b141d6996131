package main

import "testing"

// The per-user login ceiling (and, below, the device cap) can be set from
// the environment like every other setting, and is validated.
func TestConfigLoginAndDeviceLimitsFromEnv(t *testing.T) {
	t.Setenv("IDLEBRIDGE_LIMITS_MAX_FAILED_LOGINS_PER_USER", "80")
	t.Setenv("IDLEBRIDGE_LIMITS_MAX_DEVICES_PER_USER", "7")
	c, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxFailedLoginsPerUser != 80 {
		t.Fatalf("MaxFailedLoginsPerUser = %d, want 80", c.Limits.MaxFailedLoginsPerUser)
	}
	if c.Limits.MaxDevicesPerUser != 7 {
		t.Fatalf("MaxDevicesPerUser = %d, want 7", c.Limits.MaxDevicesPerUser)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.Limits.MaxDevicesPerUser = 0
	if err := c.Validate(); err == nil {
		t.Fatal("a device cap of 0 was accepted")
	}
	c.Limits.MaxDevicesPerUser = 20
	c.Limits.MaxFailedLoginsPerUser = 2 // below the per-address allowance of 5
	if err := c.Validate(); err == nil {
		t.Fatal("a per-user ceiling below the per-address allowance was accepted")
	}
}
