#!/usr/bin/env bash
# A stand-in for the Dockerfile's base image, for machines that cannot reach Docker Hub (our CI).
# Same name and the same contract as python:3.11-slim: `python` and `pip` on PATH (a venv over Debian
# bookworm's Python 3.11), pip installs readable by every user, and this machine's CA bundle for HTTPS. Built from
# Debian's packages with debootstrap from the apt source this machine already uses, then imported.
# Nothing else is replaced: the Dockerfile, the build and the container are the real ones.
set -euo pipefail
tag=${1:-python:3.11-slim}
mirror=$(awk '/^URIs:/{print $2; exit} /^deb /{print $2; exit}' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
echo "stand-in base: debootstrap bookworm from $mirror (Docker Hub is unreachable; nothing else is replaced)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" >/dev/null
chroot "$rootfs" python3 -m venv /usr/local/venv
chroot "$rootfs" chmod -R a+rX /usr/local/venv
# This machine's CA bundle: where HTTPS goes through a proxy with its own CA, the build's pip must
# trust what the host trusts (pip reads PIP_CERT, Python's ssl SSL_CERT_FILE).
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' --change 'CMD ["python3"]' - "$tag" >/dev/null
echo "stand-in base: $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
