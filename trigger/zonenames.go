package trigger

import (
	_ "embed"
	"strings"
	"sync"
	"time"
)

//go:generate go run gen_zonenames.go

// zoneNamesText lists the geographic zones of the tz database that Go
// carries, one a line, for SuggestZone.
//
//go:embed zonenames.txt
var zoneNamesText string

// zoneCities maps cities people name as their zone, but that the tz
// database does not (it names one city per zone), to the zone they are in.
var zoneCities = map[string]string{
	"beijing": "Asia/Shanghai", "peking": "Asia/Shanghai", "shenzhen": "Asia/Shanghai",
	"guangzhou": "Asia/Shanghai", "hangzhou": "Asia/Shanghai", "chengdu": "Asia/Shanghai",
	"delhi": "Asia/Kolkata", "new_delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
	"bengaluru": "Asia/Kolkata", "bangalore": "Asia/Kolkata", "hyderabad": "Asia/Kolkata", "chennai": "Asia/Kolkata",
	"osaka": "Asia/Tokyo", "kyoto": "Asia/Tokyo",
	"munich": "Europe/Berlin", "frankfurt": "Europe/Berlin", "hamburg": "Europe/Berlin",
	"san_francisco": "America/Los_Angeles", "seattle": "America/Los_Angeles",
	"washington": "America/New_York", "boston": "America/New_York", "miami": "America/New_York",
}

// zoneCity is a zone found by a city's name.
type zoneCity struct {
	city   string // lower case, underscores for spaces: "new_york"
	region string // lower case: "america", "america/indiana", "" for UTC
	zone   string // the zone's name: "America/New_York"
}

var zoneCityList = sync.OnceValue(func() []zoneCity {
	var list []zoneCity
	for name := range strings.Lines(zoneNamesText) {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		region, city := splitZone(strings.ToLower(name))
		list = append(list, zoneCity{city: city, region: region, zone: name})
	}
	for city, zone := range zoneCities {
		region, _ := splitZone(strings.ToLower(zone))
		list = append(list, zoneCity{city: city, region: region, zone: zone})
	}
	return list
})

// splitZone splits a zone name at its last slash: "america/new_york" is
// region "america" and city "new_york".
func splitZone(name string) (region, city string) {
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// SuggestZone returns the IANA zone that a name which is not one most
// likely means, or "" when nothing is close: "Berlin" and "berlin" mean
// Europe/Berlin, "America/New York" America/New_York, "Asia/Shangai"
// Asia/Shanghai, "Beijing" Asia/Shanghai. It looks for the city (the part
// after the last slash) first, as people name their zone by its city,
// then for the closest spelling; a suggestion is always a zone that
// [time.LoadLocation] loads.
func SuggestZone(name string) string {
	want := strings.ToLower(strings.Join(strings.Fields(name), "_"))
	if want == "" || want == "local" {
		return ""
	}
	region, city := splitZone(want)
	type candidate struct {
		zone              string
		dist, regionMiss  int
		depth, aliasScore int
	}
	var best *candidate
	better := func(c, b candidate) bool {
		if c.dist != b.dist {
			return c.dist < b.dist
		}
		if c.regionMiss != b.regionMiss {
			return c.regionMiss < b.regionMiss
		}
		if c.aliasScore != b.aliasScore {
			return c.aliasScore < b.aliasScore
		}
		if c.depth != b.depth {
			return c.depth < b.depth
		}
		return c.zone < b.zone
	}
	// A misspelt city may be a letter or so off, but a short name is close
	// to too many others ("cest" to "west", "china" to "chita") unless its
	// region agrees: "Europe/Berln" is Europe/Berlin, "Berln" nothing.
	n := len([]rune(city))
	for _, z := range zoneCityList() {
		limit := n / 6
		if region != "" && region == z.region {
			limit = max(1, n/4)
		}
		if z.region+"/"+z.city == want || (z.region == "" && z.city == want) {
			if loads(z.zone) {
				return z.zone
			}
			continue
		}
		d := editDistance(city, z.city)
		if d > limit {
			continue
		}
		c := candidate{zone: z.zone, dist: d, depth: strings.Count(z.zone, "/")}
		if region != "" && region != z.region {
			c.regionMiss = 1
		}
		if !strings.EqualFold(z.zone[strings.LastIndex(z.zone, "/")+1:], z.city) {
			c.aliasScore = 1 // a city of our own table, after the database's own
		}
		if (best == nil || better(c, *best)) && loads(z.zone) {
			best = &c
		}
	}
	if best == nil {
		return ""
	}
	return best.zone
}

func loads(zone string) bool {
	_, err := time.LoadLocation(zone)
	return err == nil
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
