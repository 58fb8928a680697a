#!/usr/bin/env bash
# The release files, offline, into dist/: what GoReleaser's defaults make, by a short script
# (GoReleaser itself is not an approved release on the module proxy here).
#
#   scripts/release.sh snapshot   version <last tag or v0.0.0>-SNAPSHOT-<commit>, from any checkout
#   scripts/release.sh release    HEAD must carry a tag vX.Y.Z and the tree be clean
#
# dist/ then holds, for linux and darwin on amd64 and arm64:
#   interview-export_<version>_<os>_<arch>.tar.gz       the binary, LICENSE, README.md, CHANGELOG.md,
#                                                       the man page and the shell completions
#   interview-export_<version>_<os>_<arch>.sbom.json    its SBOM (CycloneDX 1.5, from the binary's
#                                                       own build information: every module, as built)
#   interview-export_<version>_oci.tar                  the OCI image (linux/amd64 and linux/arm64,
#                                                       one index), tagged interview-export:<version>
#   checksums.txt                                       SHA-256 of every file above
#   CHANGELOG.md                                        the commits since the previous tag
#   metadata.json                                       version, commit, date
# Archives are reproducible: same commit, same bytes (sorted entries, the commit's time, no owner).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/need.sh
need release jq jq "the SBOMs are written from the binaries' build information with jq"

mode=${1:-snapshot}
commit=$(git rev-parse HEAD)
short=$(git rev-parse --short=12 HEAD)
date=$(git show -s --format=%cI HEAD)
epoch=$(git show -s --format=%ct HEAD)
previous=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || true)
case $mode in
snapshot)
	version="${previous:-v0.0.0}-SNAPSHOT-$short"
	;;
release)
	version=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null) ||
		{ echo "release: HEAD carries no tag vX.Y.Z: tag it (git tag -a v1.0.0) or run 'make release-snapshot'" >&2; exit 2; }
	[ -z "$(git status --porcelain)" ] || { echo "release: the tree has uncommitted changes: commit or stash them" >&2; exit 2; }
	previous=$(git describe --tags --abbrev=0 --match 'v[0-9]*' "$version^" 2>/dev/null || true)
	;;
*)
	echo "release: want snapshot or release, not '$mode'" >&2
	exit 2
	;;
esac
plain=${version#v}
pkg=github.com/interview-export/interview-export/command

rm -rf dist && mkdir -p dist
go build -o dist/.host/interview-export .
stage=dist/.stage
for os in linux darwin; do
	for arch in amd64 arm64; do
		name=interview-export_${plain}_${os}_${arch}
		rm -rf "$stage" && mkdir -p "$stage/$name/completions"
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
			-ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.BuildDate=$date" \
			-o "$stage/$name/interview-export" .
		cp LICENSE README.md CHANGELOG.md "$stage/$name/"
		dist/.host/interview-export man >"$stage/$name/interview-export.1"
		for shell in bash zsh fish; do
			dist/.host/interview-export completion "$shell" >"$stage/$name/completions/interview-export.$shell"
		done
		tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -C "$stage" -cf - "$name" |
			gzip -n -9 >"dist/$name.tar.gz"
		go version -m -json "$stage/$name/interview-export" | jq --arg version "$plain" --arg date "$date" \
			--arg serial "urn:uuid:$(cat /proc/sys/kernel/random/uuid)" --arg os "$os" --arg arch "$arch" '{
			bomFormat: "CycloneDX", specVersion: "1.5", serialNumber: $serial, version: 1,
			metadata: {timestamp: $date,
				tools: {components: [{type: "application", name: "go", version: .GoVersion}]},
				component: {type: "application", name: "interview-export", version: $version,
					purl: ("pkg:golang/" + .Main.Path + "@v" + $version + "?goos=" + $os + "&goarch=" + $arch),
					properties: [.Settings[]? | {name: ("go:build:" + .Key), value: .Value}]}},
			components: [.Deps[] | (.Replace // .) as $m | {type: "library", "bom-ref": ("pkg:golang/" + $m.Path + "@" + $m.Version),
				name: $m.Path, version: $m.Version, purl: ("pkg:golang/" + $m.Path + "@" + $m.Version),
				properties: [{name: "go:module:sum", value: ($m.Sum // "")}]}]
		}' >"dist/$name.sbom.json"
	done
done
rm -rf "$stage" dist/.host

# The image: the same build as make image, saved as one OCI archive.
VERSION=$version scripts/image.sh build
buildah manifest push --quiet --all "interview-export:$version" "oci-archive:dist/interview-export_${plain}_oci.tar:interview-export:$version"

{
	echo "# Changelog of $version"
	echo
	if [ -n "$previous" ]; then echo "Since $previous:"; else echo "Since the first commit:"; fi
	echo
	git log --no-merges --pretty='* %h %s' ${previous:+"$previous..HEAD"}
} >dist/CHANGELOG.md
jq -n --arg version "$version" --arg commit "$commit" --arg date "$date" --arg previous "$previous" \
	'{project_name: "interview-export", version: $version, commit: $commit, date: $date, previous_tag: $previous}' >dist/metadata.json
(cd dist && sha256sum -- *.tar.gz *.sbom.json *_oci.tar >checksums.txt && sha256sum --quiet -c checksums.txt)
# The linux/amd64 archive's binary names its version and commit.
check=$(mktemp -d)
tar -xzf "dist/interview-export_${plain}_linux_amd64.tar.gz" -C "$check"
line=$("$check/interview-export_${plain}_linux_amd64/interview-export" version)
rm -rf "$check"
case $line in "interview-export $version (commit ${commit:0:12}"*) ;; *) echo "release: the archive's binary says '$line'" >&2; exit 1 ;; esac
echo "release: $version in dist/:"
ls -l dist
