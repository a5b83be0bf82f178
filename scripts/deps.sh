#!/usr/bin/env bash
# Make sure the tools the tests, benchmarks and demo run against are installed.
# Usage: scripts/deps.sh test|bench|demo|vm
# As root with apt-get, missing Debian packages are installed; otherwise the script stops and
# names them.
set -euo pipefail

purpose=${1:-test}

# command-or-file → Debian package
declare -A need=(
	[go]=golang-go
	[swtpm]=swtpm
	[swtpm_setup]=swtpm-tools
)
case "$purpose" in
test | bench)
	need+=(
		[gcc]=gcc
		[/usr/include/openssl/evp.h]=libssl-dev
		# make build's companion decodes JPEG images with libjpeg-turbo (pkg/imagefile).
		[/usr/include/turbojpeg.h]=libturbojpeg0-dev
		[tpm2_readpublic]=tpm2-tools
		[zbarimg]=zbar-tools
		[ZXingReader]=zxing-cpp-tools
		[tmux]=tmux
		[openssl]=openssl
		[systemctl]=systemd
		[node]=nodejs
		[npm]=npm
		[/usr/bin/time]=time
		[ffmpeg]=ffmpeg
		# oob-factory's store tests run against a throwaway PostgreSQL server.
		[pg_ctlcluster]=postgresql
		# oob-portal's browser test drives Debian's chromium headless (chromedp).
		[chromium]=chromium
		# deploy's package tests: make deb's .deb is checked by lintian and installed with dpkg.
		[lintian]=lintian
		[dpkg-deb]=dpkg
		[unshare]=util-linux
		# scripts/lib.sh installs the Node SDK under internal/nodetest's lock.
		[flock]=util-linux
		# the factory demo (also run by the tests) signs in to the portal and activates with curl.
		[curl]=curl
		# companion label's PDF tests rasterize the labels with poppler before decoding them.
		[pdftoppm]=poppler-utils
	)
	;;
demo)
	# make demo builds the companion, which decodes JPEG images with libjpeg-turbo.
	need+=([systemctl]=systemd [openssl]=openssl [curl]=curl [gcc]=gcc [/usr/include/turbojpeg.h]=libturbojpeg0-dev)
	;;
vm)
	# make test-vm: a Debian image built with mmdebstrap, booted in QEMU with a TPM from swtpm.
	need+=(
		[mmdebstrap]=mmdebstrap
		[mkfs.ext4]=e2fsprogs
		[qemu-system-x86_64]=qemu-system-x86
		[qemu-img]=qemu-utils
		# boot.sh forwards each of the guest's connections to the emulator through socat.
		[socat]=socat
		[make]=make
		# the power-cut test reads the guest's disk (e2fsprogs' debugfs) and TPM on the host.
		[debugfs]=e2fsprogs
		[tpm2_getcap]=tpm2-tools
	)
	;;
*)
	echo "usage: $0 test|bench|demo|vm" >&2
	exit 2
	;;
esac
if [[ $purpose == bench || $purpose == test ]]; then
	# scripts/make-camera-set.sh photographs the agent's screens with ImageMagick; the decoder's
	# camera-set tests read those photos.
	need+=([/usr/bin/convert]=imagemagick)
fi

missing=()
for what in "${!need[@]}"; do
	if [[ $what == /* ]]; then
		[[ -e $what ]] && continue
	else
		command -v "$what" >/dev/null 2>&1 && continue
	fi
	missing+=("${need[$what]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ " ${missing[*]} " == *" golang-go "* ]]; then
	echo "Go is not installed: install Go 1.26 or later from your distribution or go.dev, then run make again." >&2
	exit 1
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	echo "Installing Debian packages: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	exit 0
fi
echo "Missing packages for 'make $purpose': ${missing[*]}" >&2
echo "Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and run make again." >&2
exit 1
