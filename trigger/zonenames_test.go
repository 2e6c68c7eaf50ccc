package trigger

import (
	"strings"
	"testing"
	"time"
)

// TestSuggestZone checks that a zone named by its city, or misspelt, is
// answered with the zone meant, and that names close to nothing get no
// guess: a wrong suggestion is worse than none.
func TestSuggestZone(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"Berlin", "Europe/Berlin"},
		{"berlin", "Europe/Berlin"},
		{"Shanghai", "Asia/Shanghai"},
		{"America/New York", "America/New_York"},
		{"new york", "America/New_York"},
		{"Asia/Shangai", "Asia/Shanghai"},
		{"Europe/Berln", "Europe/Berlin"},
		{"europe/berlin", "Europe/Berlin"},
		{"Europe/Berlin ", "Europe/Berlin"},
		{"Sao Paulo", "America/Sao_Paulo"},
		{"Beijing", "Asia/Shanghai"},
		{"utc", "UTC"},
		{"Mars/Olympus", ""},
		{"Moon/Base", ""},
		{"PST", ""},
		{"CEST", ""},
		{"China", ""},
		{"Local", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := SuggestZone(tt.name); got != tt.want {
			t.Errorf("SuggestZone(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestZoneErrorSuggests checks that a spec's unknown zone is reported with
// the suggestion, wherever a zone is named.
func TestZoneErrorSuggests(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ spec, want string }{
		{`{"type": "cron", "expr": "0 3 * * *", "timezone": "Berlin"}`,
			`cron: field "timezone": "Berlin" is not a known IANA time zone: did you mean "Europe/Berlin"?`},
		{`{"type": "cron", "expr": "CRON_TZ=Shanghai 0 3 * * *"}`,
			`crontab: field "CRON_TZ": "Shanghai" is not a known IANA time zone: did you mean "Asia/Shanghai"?`},
		{`{"type": "interval", "hours": 1, "timezone": "America/New York"}`,
			`interval: field "timezone": "America/New York" is not a known IANA time zone: did you mean "America/New_York"?`},
		{`{"type": "date", "run_date": "2026-01-01 09:00", "timezone": "Asia/Shangai"}`,
			`date: field "timezone": "Asia/Shangai" is not a known IANA time zone: did you mean "Asia/Shanghai"?`},
	} {
		if _, err := ParseSpec([]byte(tt.spec)); err == nil || err.Error() != tt.want {
			t.Errorf("ParseSpec(%s):\n got %v\nwant %s", tt.spec, err, tt.want)
		}
	}
}

// TestZoneNamesLoad checks that every zone SuggestZone may offer loads,
// and that the list is the database's (a stale or empty file would make
// every suggestion quietly disappear).
func TestZoneNamesLoad(t *testing.T) {
	t.Parallel()
	list := zoneCityList()
	if len(list) < 400 {
		t.Fatalf("only %d zones known", len(list))
	}
	for _, z := range list {
		if _, err := time.LoadLocation(z.zone); err != nil {
			t.Errorf("zone %q (city %q) does not load: %v", z.zone, z.city, err)
		}
		if strings.ContainsAny(z.city, " /") || z.city != strings.ToLower(z.city) {
			t.Errorf("city %q of %q is not in its lower-case, underscored form", z.city, z.zone)
		}
	}
}
