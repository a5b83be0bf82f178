#!/usr/bin/env bash
# Decode every NAME.png or NAME.jpg of a folder with three QR decoders in one run and compare each result
# byte for byte with NAME.txt: ours, zbarimg and ZXingReader. For each decoder it prints how
# many images were decoded correctly and the distribution of the wall time of one invocation
# per image: median, 90th percentile and slowest (in ms, process start-up and image loading
# included, the same for all three). Then pkg/qr/reader in process (scripts/decodetime), at
# Thorough and Fast effort: the same count and distribution, of the decode alone; and when the
# folder has frames without a NAME.txt (no code, as the camera set's empty-NN.jpg), the time
# our command and Thorough in process take to give up on them, "correct" counting those read
# as no code. Each image goes to the three decoders in turn, so load from elsewhere falls on
# all three alike.
#
# Usage: scripts/bench-decode.sh [--format text|json] [DIR]
#   DIR defaults to ../shared/corpus/qr (relative to the project root).
#   OOB_DECODE_CMD is our decoder's command line, run as "$OOB_DECODE_CMD IMAGE"; it must print
#   each code's contents exactly, followed by "\n". Default: bin/companion decode --raw
#
# Exit status: 0 after a run (whatever the scores), 2 on a usage error.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: $0 [--format text|json] [DIR]" >&2
	exit 2
}

format=text
dir=
while [[ $# -gt 0 ]]; do
	case $1 in
	--format)
		[[ $# -ge 2 ]] || usage
		format=$2
		shift 2
		;;
	--format=*)
		format=${1#--format=}
		shift
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*)
		[[ -z $dir ]] || usage
		dir=$1
		shift
		;;
	esac
done
[[ $format == text || $format == json ]] || usage
dir=${dir:-../shared/corpus/qr}
if [[ ! -d $dir ]]; then
	echo "$0: no folder $dir" >&2
	exit 2
fi
ours=${OOB_DECODE_CMD:-bin/companion decode --raw}

shopt -s nullglob
images=()
nocode=0
empty=()
for img in "$dir"/*.png "$dir"/*.jpg; do
	# Images without an expected NAME.txt (frames holding no code) are timed apart.
	if [[ -e ${img%.*}.txt ]]; then images+=("$img"); else nocode=$((nocode + 1)) empty+=("$img"); fi
done
if [[ ${#images[@]} -eq 0 ]]; then
	echo "$0: no NAME.png or NAME.jpg files with a NAME.txt in $dir" >&2
	exit 2
fi

work=$(mktemp -d -t oob-bench-decode.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Each decoder writes what it read to "$work/out" and is compared with the expected bytes in
# "$work/want" (NAME.txt, plus a "\n" for our command, which ends each code with one).
# Output is compared as files, not shell strings, which would drop NULs and trailing newlines.
decode_ours() { $ours "$1" >"$work/out" 2>/dev/null; }
# -Sbinary: keep the bytes as the code holds them instead of converting character sets; zbarimg
# then adds no newline of its own.
decode_zbar() { zbarimg --raw -q --oneshot -Sbinary "$1" >"$work/out" 2>/dev/null; }
# -bytes prints only the content, without a newline; QR codes only, as for the other two.
decode_zxing() { ZXingReader -format QRCode -bytes "$1" >"$work/out" 2>/dev/null; }

# Only our command ends each code with "\n"; the other two print the bare contents.
want_newline() { [[ $1 == ours ]]; }

# dist: the median, 90th percentile (nearest rank) and maximum of the microsecond figures on
# stdin, in ms: "MEDIAN P90 MAX".
dist() {
	sort -n | awk '{v[NR]=$1} END {
		m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2
		r = int((9*NR + 9) / 10)
		printf "%.1f %.1f %.1f", m/1000, v[r]/1000, v[NR]/1000
	}'
}

# decode_one NAME IMAGE: runs decoder NAME on IMAGE, appends its wall time in microseconds to
# $work/NAME.ms and counts a correct decode in $work/NAME.ok.
decode_one() {
	local name=$1 img=$2 t0 t1
	# Times in microseconds from bash's own clock (the decimal point dropped): running date
	# for them would add a process start of its own, several ms here, to every figure.
	cp "${img%.*}.txt" "$work/want"
	if want_newline "$name"; then printf '\n' >>"$work/want"; fi
	t0=${EPOCHREALTIME/[.,]/}
	"decode_$name" "$img" || true
	t1=${EPOCHREALTIME/[.,]/}
	echo $((t1 - t0)) >>"$work/$name.ms"
	# A correct decode is the expected contents first; a second code may follow.
	if head -c "$(stat -c %s "$work/want")" "$work/out" | cmp -s - "$work/want"; then
		echo >>"$work/$name.ok"
	fi
}

# Each image is decoded by the three decoders in turn, so that a burst of load from elsewhere
# on the machine falls on all three alike rather than on whichever was running.
tools=(ours zbar zxing)
commands_of=("${ours%% *}" zbarimg ZXingReader)
present=()
for i in "${!tools[@]}"; do
	: >"$work/${tools[$i]}.ms"
	: >"$work/${tools[$i]}.ok"
	if command -v "${commands_of[$i]}" >/dev/null 2>&1; then present+=("${tools[$i]}"); fi
done
for img in "${images[@]}"; do
	for name in "${present[@]}"; do decode_one "$name" "$img"; done
done
for name in "${tools[@]}"; do
	if [[ -s $work/$name.ms ]]; then
		echo "$(wc -l <"$work/$name.ok") $(dist <"$work/$name.ms")" >"$work/$name.result"
	else
		echo "- - - -" >"$work/$name.result"
	fi
done

# Our command on the frames without a code: the time to give up, "correct" when it printed
# nothing.
if [[ $nocode -gt 0 && " ${present[*]} " == *" ours "* ]]; then
	: >"$work/ours-nocode.ms"
	n=0
	for img in "${empty[@]}"; do
		t0=${EPOCHREALTIME/[.,]/}
		decode_ours "$img" || true
		t1=${EPOCHREALTIME/[.,]/}
		echo $((t1 - t0)) >>"$work/ours-nocode.ms"
		if [[ ! -s $work/out ]]; then n=$((n + 1)); fi
	done
	echo "$n $(dist <"$work/ours-nocode.ms")" >"$work/ours-nocode.result"
fi

# In process: pkg/qr/reader alone, the image already loaded, at both efforts (Thorough is what
# companion decode uses, Fast what a scan loop uses per frame). Same images, same comparison.
# inproc NAME ARGS...: scripts/decodetime ARGS DIR into $work/NAME.result.
inproc() {
	local name=$1
	shift
	if command -v go >/dev/null 2>&1 && go build -o "$work/decodetime" ./scripts/decodetime; then
		"$work/decodetime" "$@" "$dir" | awk '{print $1, $3, $4, $5}' >"$work/$name.result"
	else
		echo "- - - -" >"$work/$name.result"
	fi
}
inproc inproc-thorough -effort thorough
inproc inproc-fast -effort fast

total=${#images[@]}
names=(ours zbar zxing inproc-thorough inproc-fast)
labels=("ours" "zbarimg" "ZXingReader" "ours in-proc" "ours Fast")
totals=("$total" "$total" "$total" "$total" "$total")
commands=("$ours IMAGE" "zbarimg --raw -q --oneshot -Sbinary IMAGE" "ZXingReader -format QRCode -bytes IMAGE"
	"scripts/decodetime -effort thorough DIR (decode only)" "scripts/decodetime -effort fast DIR (decode only)")
if [[ -e $work/ours-nocode.result ]]; then
	names+=(ours-nocode)
	labels+=("ours no code")
	totals+=("$nocode")
	commands+=("$ours IMAGE (frames without a code, read as none)")
fi
if [[ $nocode -gt 0 ]]; then
	inproc inproc-nocode -effort thorough -nocode
	names+=(inproc-nocode)
	labels+=("in-proc none")
	totals+=("$nocode")
	commands+=("scripts/decodetime -effort thorough -nocode DIR (decode only; frames without a code, read as none)")
fi

if [[ $format == json ]]; then
	printf '{"folder":"%s","images":%d,"imagesWithoutCode":%d,"timing":"wall time of one invocation per image, in ms: median, 90th percentile, slowest; in process: of one decode","decoders":[' "$dir" "$total" "$nocode"
	for i in "${!names[@]}"; do
		read -r ok ms p90 max <"$work/${names[$i]}.result"
		[[ $i -gt 0 ]] && printf ','
		if [[ $ok == - ]]; then
			printf '{"name":"%s","command":"%s","installed":false}' "${labels[$i]}" "${commands[$i]}"
		else
			printf '{"name":"%s","command":"%s","installed":true,"inProcess":%s,"images":%d,"correct":%d,"medianMs":%s,"p90Ms":%s,"maxMs":%s}' \
				"${labels[$i]}" "${commands[$i]}" "$([[ ${names[$i]} == inproc-* ]] && echo true || echo false)" "${totals[$i]}" "$ok" "$ms" "$p90" "$max"
		fi
	done
	printf ']}\n'
	exit 0
fi

echo "QR decoding of $total images in $dir (byte-exact; ms: wall time per invocation, or per decode in process)"
printf '%-12s  %7s  %7s  %7s  %7s  %s\n' decoder correct median p90 max command
for i in "${!names[@]}"; do
	read -r ok ms p90 max <"$work/${names[$i]}.result"
	if [[ $ok == - ]]; then
		printf '%-12s  %7s  %7s  %7s  %7s  %s\n' "${labels[$i]}" - - - - "not installed"
	else
		printf '%-12s  %7s  %7s  %7s  %7s  %s\n' "${labels[$i]}" "$ok/${totals[$i]}" "$ms" "$p90" "$max" "${commands[$i]}"
	fi
done
