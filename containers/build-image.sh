#!/bin/sh
# `make image`: builds the sidecar image without pulling anything.
#   containers/build-image.sh BINARY [TAG]      TAG default switchyard:dev
# containers/rootfs.sh assembles the file system from BINARY (this machine's published binary and libraries), then
# docker builds containers/Dockerfile's final stage (from `FROM scratch` on: nothing to pull) with that file system as
# its context: the same recipe and the same USER/ENV/ENTRYPOINT as the full multi-stage build, only the build stage
# replaced by this machine.
set -eu

BINARY=${1:?usage: build-image.sh BINARY [TAG]}
TAG=${2:-switchyard:dev}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$HERE/rootfs.sh" "$BINARY" "$WORK/rootfs"

# The final stage, with its one COPY --from=build taking the rootfs from the context instead.
sed -n '/^FROM scratch/,$p' "$HERE/Dockerfile" | sed 's#^COPY --from=build /rootfs/ /$#COPY rootfs/ /#' > "$WORK/Dockerfile"
grep -q '^COPY rootfs/ /$' "$WORK/Dockerfile" || { echo "build-image.sh: containers/Dockerfile has no 'FROM scratch' stage with 'COPY --from=build /rootfs/ /'" >&2; exit 1; }
if grep -q -- '--from=' "$WORK/Dockerfile"; then
  echo "build-image.sh: containers/Dockerfile's final stage copies from another stage besides the rootfs" >&2; exit 1
fi

docker build --pull=false -q -f "$WORK/Dockerfile" -t "$TAG" "$WORK" >/dev/null
echo "$TAG: $(docker image inspect -f '{{.Size}}' "$TAG") bytes"
