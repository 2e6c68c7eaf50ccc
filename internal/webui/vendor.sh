#!/usr/bin/env bash
# Vendors the web UI's front-end libraries from the npm registry into
# static/vendor, and records what it took in static/vendor/VERSIONS.
# Needs curl, tar and sha256sum — not Node. Building or running Sundial
# needs none of it: the files are committed and embedded.
#
#   bash internal/webui/vendor.sh
set -euo pipefail
cd "$(dirname "$0")/static/vendor"

# package version layout files…  (paths inside the package's tarball)
#
# layout "flat" copies each file to vendor/PACKAGE/ under its base name;
# "tree" keeps its path, for ES modules that import each other by
# relative paths (lit-html's directives import "../lit-html.js").
packages=(
	"codemirror 5.65.21 flat lib/codemirror.js lib/codemirror.css mode/python/python.js mode/shell/shell.js mode/javascript/javascript.js"
	"diff 9.0.0 flat dist/diff.min.js"
	"lit-html 3.3.3 tree lit-html.js directive.js directive-helpers.js directives/keyed.js"
)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
{
	echo "# Front-end libraries vendored by internal/webui/vendor.sh from registry.npmjs.org."
	echo "# package version tarball-sha256 file file-sha256"
} >VERSIONS.new
for entry in "${packages[@]}"; do
	read -r name version layout files <<<"$entry"
	url="https://registry.npmjs.org/${name}/-/${name}-${version}.tgz"
	curl -fsSL "$url" -o "$tmp/$name.tgz"
	tarsum="$(sha256sum "$tmp/$name.tgz" | cut -d' ' -f1)"
	mkdir -p "$tmp/$name"
	tar -xzf "$tmp/$name.tgz" -C "$tmp/$name"
	rm -rf "$name"
	mkdir -p "$name"
	cp "$tmp/$name/package/LICENSE"* "$name/" 2>/dev/null || true
	for f in $files; do
		case "$layout" in
		flat) out="$name/$(basename "$f")" ;;
		tree) out="$name/$f" ;;
		*) echo "vendor.sh: $name: layout $layout is neither flat nor tree" >&2; exit 2 ;;
		esac
		mkdir -p "$(dirname "$out")"
		cp "$tmp/$name/package/$f" "$out"
		echo "$name $version $tarsum $out $(sha256sum "$out" | cut -d' ' -f1)" >>VERSIONS.new
	done
done
mv VERSIONS.new VERSIONS
echo "vendored into $(pwd):"
cat VERSIONS
