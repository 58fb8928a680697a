#!/usr/bin/env bash
# The OCI image, built offline with buildah (Debian package buildah): the static binary and the
# host's CA bundle on scratch (Containerfile).
#
#   scripts/image.sh build   build interview-export:$VERSION for linux/amd64 and linux/arm64, as one
#                            manifest list (and :latest)
#   scripts/image.sh smoke   build, then run the image's binary for `version` and for a short export
#                            against the bundled fake API and the throwaway PostgreSQL
#
# As root, a missing buildah is installed (apt-get install -y buildah); otherwise the script says
# the one command that does. It never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/need.sh
need image buildah buildah "the image is built offline with buildah"

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
pkg=github.com/interview-export/interview-export/command
ctx=.tmp/image
image=interview-export:$version

build() {
	created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	buildah manifest rm "$image" >/dev/null 2>&1 || true
	buildah manifest create "$image" >/dev/null
	for arch in amd64 arm64; do
		rm -rf "$ctx" && mkdir -p "$ctx/tmp"
		CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
			-ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.BuildDate=$created" \
			-o "$ctx/interview-export" .
		cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
		# No RUN step: a scratch image of another architecture needs no emulator.
		buildah bud --isolation chroot --quiet --arch "$arch" --os linux -f Containerfile \
			--build-arg VERSION="$version" --build-arg REVISION="$commit" --build-arg CREATED="$created" \
			-t "$image-$arch" "$ctx" >/dev/null
		buildah manifest add "$image" "$image-$arch" >/dev/null
	done
	buildah tag "$image-amd64" interview-export:latest
	echo "image: built $image (linux/amd64, linux/arm64)"
}

smoke() {
	build
	container=$(buildah from --quiet "$image-amd64")
	fake=""
	cleanup() {
		buildah rm "$container" >/dev/null 2>&1 || true
		[ -n "$fake" ] && kill "$fake" 2>/dev/null || true
	}
	trap cleanup EXIT
	run() { buildah run --isolation chroot "$@"; }

	out=$(run "$container" -- /interview-export version)
	echo "image: $out"
	case "$out" in "interview-export $version (commit "*) ;; *) echo "image: unexpected version line" >&2; exit 1 ;; esac
	uid=$(buildah inspect --format '{{.OCIv1.Config.User}}' "$image-amd64")
	[ "$uid" = "65532:65532" ] || { echo "image: runs as '$uid', want 65532:65532" >&2; exit 1; }
	for label in source version revision created licenses; do
		value=$(buildah inspect --format "{{index .OCIv1.Config.Labels \"org.opencontainers.image.$label\"}}" "$image-amd64")
		[ -n "$value" ] || { echo "image: no org.opencontainers.image.$label label" >&2; exit 1; }
	done
	archs=$(buildah manifest inspect "$image" | grep -o '"architecture": *"[a-z0-9]*"' | sort | tr -d ' \n')
	[ "$archs" = '"architecture":"amd64""architecture":"arm64"' ] || { echo "image: the manifest list holds $archs" >&2; exit 1; }


	db=${IMAGE_DATABASE_URL:-$(scripts/pg.sh start interview_export_image)}
	go build -o bin/fakeapi ./cmd/fakeapi
	rm -f .tmp/image-fake.url
	bin/fakeapi --addr 127.0.0.1:0 --jobs 1 --proposals-per-job 50 --forbidden-share 0 --write-ids "$ctx/ids.txt" --url-file .tmp/image-fake.url >/dev/null &
	fake=$!
	for _ in $(seq 100); do [ -s .tmp/image-fake.url ] && break; sleep 0.1; done
	status=0
	run --env OT_API_URL="$(cat .tmp/image-fake.url)" --env OT_API_TOKEN=ot_pat_demo_token_not_secret \
		--env DATABASE_URL="$db" "$container" -- /interview-export export --ids-query "SELECT unnest(string_to_array('$(paste -sd, "$ctx/ids.txt")', ','))" --rate 0 \
		--progress-interval 0 --log-format json >"$ctx/export.log" 2>&1 || status=$?
	grep '"msg":"export finished"' "$ctx/export.log" || true
	if [ "$status" -ne 0 ]; then
		cat "$ctx/export.log" >&2
		echo "image: the export in the image exited $status" >&2
		exit 1
	fi
	grep -q '"msg":"export finished"' "$ctx/export.log" || { echo "image: no 'export finished' record" >&2; exit 1; }
	echo "image: smoke test passed (version, user 65532, OCI labels, amd64 and arm64, an --ids-query export of 50 proposals through /tmp exited $status)"
}

case "${1:-}" in
build) build ;;
smoke) smoke ;;
*)
	echo "usage: scripts/image.sh build | smoke" >&2
	exit 2
	;;
esac
