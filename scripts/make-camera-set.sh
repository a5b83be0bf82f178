#!/usr/bin/env bash
# Make a camera test set from our own agent's screens: devices with generated EKs (v1 payloads,
# some with labels) drawn by pkg/display at panel sizes, then photographed as a webcam would:
# the screen's pixel grid beating with the sensor's (moiré), perspective and rotation, defocus,
# glare, a dim or washed-out panel, light-on-dark screens, sensor noise, 1280×720, and MJPEG-like
# JPEG compression. Fixed seeds: the same files on every run (same ImageMagick version).
#
# Writes DIR/cam-NN.jpg with DIR/cam-NN.txt (the exact payload of its code), DIR/empty-NN.jpg
# (frames of the same screens with no code, for frame-rate measurements; no .txt) and
# DIR/plan.tsv (each frame's degradations, see scripts/camerascreens).
#
# Usage: scripts/make-camera-set.sh [--seed N] [DIR]
#   DIR defaults to build/camera-set (git-ignored); it is emptied first.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=1
dir=
while [[ $# -gt 0 ]]; do
	case $1 in
	--seed) seed=$2; shift 2 ;;
	-*) echo "usage: $0 [--seed N] [DIR]" >&2; exit 2 ;;
	*) dir=$1; shift ;;
	esac
done
dir=${dir:-build/camera-set}
for tool in convert go; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is missing (scripts/deps.sh bench installs it)" >&2; exit 1; }
done

rm -rf "$dir"
mkdir -p "$dir"
go run ./scripts/camerascreens -out "$dir" -seed "$seed" >"$dir/plan.tsv"

# photograph LINE: one frame from one plan line.
photograph() {
	local name screen invert moire persp blur noise lo hi glare jpeg n
	IFS=$'\t' read -r name screen invert moire persp blur noise lo hi glare jpeg <<<"$1"
	n=$(cksum <<<"$name" | cut -d' ' -f1) # the noise seed: fixed per frame
	local args=("$screen" -colorspace Gray)
	if [[ $invert == 1 ]]; then
		args+=(-negate)
	fi
	if [[ $moire == 1 ]]; then
		# The panel's pixels, 3×3 each with a dark gap on two sides, point-sampled by the
		# sensor: the gap grid aliases into broad interference bands.
		args+=(-filter point -resize 300%
			'(' -size 3x3 xc:white -fill gray25 -draw 'line 0,2 2,2' -draw 'line 2,0 2,2' -write mpr:grid +delete ')'
			'(' +clone -tile mpr:grid -draw 'color 0,0 reset' ')' -compose multiply -composite)
		persp=$(awk -v s=3 '{for (i = 1; i <= NF; i += 2) { split($i, p, ","); $i = p[1] * s "," p[2] * s } print}' <<<"$persp")
		args+=(-interpolate bilinear)
	else
		args+=(-filter Triangle)
	fi
	args+=(-virtual-pixel background -background gray18 -define distort:viewport=2560x1440+0+0
		-distort Perspective "$persp" +repage -filter Triangle)
	# Dim or washed-out panel: black and white brought towards each other.
	args+=(+level "${lo}%,${hi}%")
	if [[ $glare != - ]]; then
		local gx gy gr
		IFS=, read -r gx gy gr <<<"$glare"
		args+=('(' -size 2560x1440 xc:black '(' -size "$((2 * gr))x$((2 * gr))" radial-gradient:gray85-black ')'
			-geometry "+$((gx - gr))+$((gy - gr))" -compose over -composite ')' -compose screen -composite)
	fi
	if [[ $moire == 1 ]]; then
		# Sharp focus is when moiré shows: the sensor samples the grid without averaging it
		# away, and only a little lens blur follows.
		args+=(-sample 1280x720! -blur "0x$(awk -v b="$blur" 'BEGIN {print (b / 4 < 0.6) ? b / 4 : 0.6}')")
	else
		args+=(-blur "0x$blur" -resize 1280x720!)
	fi
	args+=(-seed "$((n % 1000000))" -attenuate "$noise" +noise Gaussian
		-quality "$jpeg" -sampling-factor 2x1 "$dir/$name.jpg")
	convert "${args[@]}"
}

jobs_max=$(nproc)
while IFS= read -r line; do
	photograph "$line" &
	while [[ $(jobs -rp | wc -l) -ge $jobs_max ]]; do wait -n; done
done <"$dir/plan.tsv"
wait

# Every frame must exist: a convert that failed in the background would otherwise go unseen.
missing=0
while IFS=$'\t' read -r name _; do
	[[ -s $dir/$name.jpg ]] || { echo "$0: $dir/$name.jpg was not made" >&2; missing=1; }
done <"$dir/plan.tsv"
[[ $missing == 0 ]] || exit 1
rm -rf "$dir/screens"
echo "camera set: $(ls "$dir"/cam-*.jpg | wc -l) frames with a code, $(ls "$dir"/empty-*.jpg | wc -l) without, in $dir" >&2
