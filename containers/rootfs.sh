#!/bin/sh
# The sidecar image's whole file system, assembled from a published Native AOT binary and the libraries of the machine
# that built it: the one recipe for the image, run by containers/Dockerfile's build stage (where registries are reachable)
# and by containers/build-image.sh (`make image`, no pulls), and the file system native-tests/Containers runs.
#
#   containers/rootfs.sh BINARY DIR     DIR must not exist yet; it gets exactly:
#     /usr/local/bin/switchyard                 the binary (the path the injected probes and the image's ENTRYPOINT run)
#     the ELF interpreter (/lib64/ld-linux-x86-64.so.2 on x86-64)
#     the libraries the binary links (what ldd lists: libc and libm today) and those it dlopens at run time
#       (System.Net.Security: libssl.so.3 and libcrypto.so.3), each with the libraries they link in turn
#     /etc/ssl/certs/ca-certificates.crt        the CA bundle (the image sets SSL_CERT_FILE to it)
#     /etc/passwd, /etc/group                   the one user the image runs as: app, 1654:1654 (as the chiseled .NET images)
#   Nothing else: no shell, no package manager, no ld.so.cache (the loader searches its built-in directories).
set -eu

BINARY=${1:?usage: rootfs.sh BINARY DIR}
DIR=${2:?usage: rootfs.sh BINARY DIR}
# The libraries .NET loads with dlopen (by soname, so ldd cannot see them); strace or LD_DEBUG=libs of a TLS handshake shows them.
DLOPENED=${SWITCHYARD_DLOPENED:-"libssl.so.3 libcrypto.so.3"}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
APP_UID=1654

fail() { echo "rootfs.sh: $*" >&2; exit 1; }

[ -f "$BINARY" ] || fail "$BINARY: no such file (publish first: dotnet publish src/Switchyard -c Release -r linux-x64 -o artifacts/switchyard)"
[ ! -e "$DIR" ] || fail "$DIR already exists (remove it first)"
[ -f "$CA_BUNDLE" ] || fail "$CA_BUNDLE: no CA bundle (install ca-certificates)"

# A file copied to the same path inside DIR, symlinks resolved (the soname path gets the library itself).
put() {
  mkdir -p "$DIR$(dirname "$1")"
  cp -L "$1" "$DIR$1"
}

# What ldd says a file needs: "name => /path (addr)" and the interpreter "/lib64/ld-linux-x86-64.so.2 (addr)".
needs() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  ldd "$1" | grep -q 'not found' && fail "$1: $(ldd "$1" | grep 'not found' | head -n 1)"
  return 0
}

# Where the loader finds a soname on this machine.
resolve() {
  path=$(ldconfig -p | awk -v name="$1" '$1 == name { print $NF; exit }')
  [ -n "$path" ] || fail "$1: not installed (Debian/Ubuntu: apt-get install libssl3)"
  echo "$path"
}

mkdir -p "$DIR/usr/local/bin"
cp "$BINARY" "$DIR/usr/local/bin/switchyard"
chmod 0755 "$DIR/usr/local/bin/switchyard"

libraries=$(needs "$BINARY")
for name in $DLOPENED; do
  library=$(resolve "$name")
  libraries="$libraries
$library
$(needs "$library")"
done
for library in $(printf '%s\n' "$libraries" | sort -u); do
  put "$library"
done

mkdir -p "$DIR/etc/ssl/certs"
cp -L "$CA_BUNDLE" "$DIR/etc/ssl/certs/ca-certificates.crt"
echo "app:x:$APP_UID:$APP_UID:app:/nonexistent:/sbin/nologin" > "$DIR/etc/passwd"
echo "app:x:$APP_UID:" > "$DIR/etc/group"
chmod 0644 "$DIR/etc/passwd" "$DIR/etc/group"

# Every directory readable and searchable by the image's user, whatever the umask of the machine.
find "$DIR" -type d -exec chmod 0755 {} +
