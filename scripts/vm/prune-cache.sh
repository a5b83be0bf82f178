#!/usr/bin/env bash
# Remove old VM images from build-image.sh's cache, keeping the KEEP used last:
#
#   scripts/vm/prune-cache.sh CACHE KEEP
#
# An image is a directory CACHE/KEY (KEY: 16 hex digits) with a "done" file, whose time is when
# it was built or last handed out (build-image.sh touches it). Other entries are left alone:
# seed/ (the emulator's identity the images carry), an image still being moved in (no "done"
# yet), and build.* directories unless one is more than a day old (a build killed before its
# cleanup ran; a build takes minutes). What it removes is named on stderr.
set -euo pipefail

[[ $# -eq 2 && -d $1 && $2 =~ ^[0-9]+$ ]] || {
	echo "usage: $0 CACHE KEEP (CACHE: build-image.sh's cache directory; KEEP: how many images to keep)" >&2
	exit 2
}
cache=$1 keep=$2

n=0
while read -r _ done; do
	n=$((n + 1))
	((n > keep)) || continue
	dir=${done%/done}
	echo "prune-cache.sh: removing the old image $dir" >&2
	rm -rf "$dir"
done < <(find "$cache" -mindepth 2 -maxdepth 2 -type f -name done -printf '%T@ %p\n' |
	grep -E "/[0-9a-f]{16}/done\$" | sort -rn)

find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'build.*' -mmin +1440 -print0 |
	while IFS= read -r -d '' dir; do
		echo "prune-cache.sh: removing the abandoned build $dir" >&2
		rm -rf "$dir"
	done
