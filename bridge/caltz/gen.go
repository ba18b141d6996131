package caltz

//go:generate go run ./internal/genzones -o windowszones_gen.go

// windowsZone is one row of the generated CLDR table.
type windowsZone struct {
	name    string   // Windows zone ID, also its StandardName ("W. Europe Standard Time")
	display string   // Windows display name ("(UTC+01:00) Amsterdam, Berlin, …")
	zones   []string // IANA zones; zones[0] is CLDR's territory-001 default
}
