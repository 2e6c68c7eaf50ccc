#!/usr/bin/env bash
# Vendors the web UI's front-end libraries from the npm registry into
# static/vendor, and records what it took in static/vendor/VERSIONS.
# Needs curl, tar and sha256sum — not Node. Building or running Sundial
# needs none of it: the files are committed and embedded.
#
#   bash internal/webui/vendor.sh
set -euo pipefail
cd "$(dirname "$0")/static/vendor"

# package version files…  (paths inside the package's tarball)
packages=(
	"codemirror 5.65.21 lib/codemirror.js lib/codemirror.css mode/python/python.js mode/shell/shell.js mode/javascript/javascript.js"
	"diff 9.0.0 dist/diff.min.js"
)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
{
	echo "# Front-end libraries vendored by internal/webui/vendor.sh from registry.npmjs.org."
	echo "# package version tarball-sha256 file file-sha256"
} >VERSIONS.new
for entry in "${packages[@]}"; do
	read -r name version files <<<"$entry"
	url="https://registry.npmjs.org/${name}/-/${name}-${version}.tgz"
	curl -fsSL "$url" -o "$tmp/$name.tgz"
	tarsum="$(sha256sum "$tmp/$name.tgz" | cut -d' ' -f1)"
	mkdir -p "$tmp/$name"
	tar -xzf "$tmp/$name.tgz" -C "$tmp/$name"
	mkdir -p "$name"
	cp "$tmp/$name/package/LICENSE"* "$name/" 2>/dev/null || true
	for f in $files; do
		out="$name/$(basename "$f")"
		cp "$tmp/$name/package/$f" "$out"
		echo "$name $version $tarsum $out $(sha256sum "$out" | cut -d' ' -f1)" >>VERSIONS.new
	done
done
mv VERSIONS.new VERSIONS
echo "vendored into $(pwd):"
cat VERSIONS
