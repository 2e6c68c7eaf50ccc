//go:build ignore

// gen_zonenames writes zonenames.txt: the names of the geographic zones in
// the zone database Go carries ($GOROOT/lib/time/zoneinfo.zip, the one
// time/tzdata embeds), which SuggestZone searches. Run it with go generate
// after a Go upgrade brings a new tzdata release.
package main

import (
	"archive/zip"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// regions are the geographic areas of the tz database; names outside them
// ("US/Eastern", "Japan", "Etc/GMT+5") are old aliases or fixed offsets,
// which a suggestion should not steer anyone to.
var regions = []string{"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}

func main() {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		log.Fatal(err)
	}
	z, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(out)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		log.Fatal(err)
	}
	defer z.Close()
	names := []string{"UTC"}
	for _, f := range z.File {
		region, _, ok := strings.Cut(f.Name, "/")
		if ok && slices.Contains(regions, region) {
			names = append(names, f.Name)
		}
	}
	slices.Sort(names)
	if err := os.WriteFile("zonenames.txt", []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
}
