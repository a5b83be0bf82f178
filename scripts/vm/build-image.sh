#!/usr/bin/env bash
# Build a minimal Debian bookworm (amd64) device image around the agent's package, for QEMU:
#
#   scripts/vm/build-image.sh --deb build/oob-agent_VERSION_amd64.deb --ca CA.pem --id-scope SCOPE
#
# prints the directory that holds the image, once built:
#
#   rootfs.ext4   the root filesystem (ext4, the whole disk: no partition table, no bootloader)
#   vmlinuz       the kernel and its initramfs, for QEMU's -kernel and -initrd;
#   initrd.img    boot with -append "root=/dev/vda rw console=ttyS0"
#
# The image is made with mmdebstrap from Debian's packages (as root: it chroots to run the
# packages' maintainer scripts) and kept in $OOB_VM_CACHE (default ~/.cache/oob-vm) under a key
# that hashes this script, the .deb, the CA, the ID scope and the package list: the same inputs
# give the same directory at once, changed inputs a new build, after which all but the two
# images used last are removed (scripts/vm/prune-cache.sh). A device maker's image differs in its
# workload, its config and its boot chain, not in how the agent goes in: the customize hooks
# below are the part to copy.
#
# What is in it, beyond Debian's minimal "apt" variant:
#   - systemd (as init), udev, the kernel linux-image-amd64 with an initramfs that loads the
#     virtio disk and the "bochs" display driver (QEMU's -vga std), so /dev/fb0 exists before
#     systemd starts the agent;
#   - the agent's .deb, installed by apt as on a device (its unit enabled by the preset);
#   - /etc/oob/agent.json: the device's TPM (/dev/tpmrm0), the ID scope, DPS at dps.oob.test
#     and the emulator's CA (/etc/oob/dps-ca.pem); /etc/hosts names dps.oob.test and
#     hub.oob.test at the addresses QEMU forwards to the emulator on the host (scripts/vm/boot.sh);
#   - a static address on the virtual network (systemd-networkd), nothing else on it;
#   - kiosk.service, a stand-in workload: installed, not enabled (finalize enables it); it
#     prints "oob-vm: kiosk active" on the serial console;
#   - oob-vm-report.service, for the test only: at every boot it prints one line on the serial
#     console with the boot's ID and what systemd says of the agent's unit;
#   - journald forwards its lines to the serial console, so the agent's log is in the QEMU log,
#     and the agent logs at info level (a drop-in adds --verbose);
#   - no login prompt on the serial console: the kernel's console is ttyS0, which makes it the
#     agent's terminal (/dev/console), and a getty starting there hangs the terminal up, which
#     ends the agent by SIGHUP (a clean exit to systemd, so Restart=on-failure does not start it
#     again). A device whose console is a serial line with a getty needs the same.
set -euo pipefail

usage() {
	echo "usage: $0 --deb FILE --ca FILE --id-scope SCOPE" >&2
	exit 2
}
deb= ca= scope=
while (($#)); do
	case $1 in
	--deb) deb=${2:?}; shift 2 ;;
	--ca) ca=${2:?}; shift 2 ;;
	--id-scope) scope=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done
[[ -f $deb && -f $ca && -n $scope ]] || usage
for tool in mmdebstrap mkfs.ext4 sha256sum; do
	command -v "$tool" >/dev/null || {
		echo "$tool is not installed (scripts/deps.sh vm installs it)" >&2
		exit 1
	}
done

# The packages beyond mmdebstrap's "apt" variant (Essential and apt). initramfs-tools is
# named so that the kernel's initramfs is made with it (and its modules list below).
packages=systemd,systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,kmod,iproute2

cache=${OOB_VM_CACHE:-$HOME/.cache/oob-vm}
key=$( {
	sha256sum "$0" "$deb" "$ca" | cut -d' ' -f1
	echo "$scope $packages"
} | sha256sum | cut -c1-16)
out=$cache/$key
if [[ -f $out/done ]]; then
	# Used now: the pruning below keeps the images used last.
	touch "$out/done"
	echo "$out"
	exit 0
fi
# Only the result goes to stdout; what the tools print goes to stderr.
exec 3>&1 1>&2
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Everything the hooks copy in, staged in one directory.
files=$work/files
mkdir -p "$files"
cp "$deb" "$files/oob-agent.deb"
cp "$ca" "$files/dps-ca.pem"

# The agent's config: the device's own TPM, the private DPS by name (TLS verifies the name
# against the emulator's certificate), its CA as the only one trusted. The hub's address is
# the name DPS assigns (hub.oob.test), found through /etc/hosts like DPS's.
cat >"$files/agent.json" <<JSON
{
  "version": 1,
  "tpm": {"path": "/dev/tpmrm0"},
  "dps": {"idScope": "$scope", "endpoint": "dps.oob.test", "caFile": "/etc/oob/dps-ca.pem", "label": "VM-1"},
  "display": {"outputs": ["framebuffer", "terminal"], "payloadFormat": "v1"},
  "retry": {"initial": "1s", "max": "3s"},
  "stateDir": "/var/lib/oob",
  "finalize": {"enable": ["kiosk.service"], "disable": ["oob-agent.service"], "reboot": true, "rebootDelay": "1s"}
}
JSON

# QEMU's user network (scripts/vm/boot.sh): the guest is 10.0.2.15, and 10.0.2.100:443 and
# 10.0.2.101:8883 are forwarded to the emulator's DPS and hub ports on the host's loopback.
cat >"$files/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	oob-vm
10.0.2.100	dps.oob.test
10.0.2.101	hub.oob.test
EOF
cat >"$files/10-vm.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
EOF

# The stand-in workload. Its [Install] section is what finalize's `enable` acts on.
cat >"$files/kiosk.service" <<'EOF'
[Unit]
Description=Stand-in workload (prints a marker on the serial console)

[Service]
ExecStart=/bin/sh -c 'echo "oob-vm: kiosk active" >/dev/ttyS0; exec sleep infinity'

[Install]
WantedBy=multi-user.target
EOF

# The test's view of each boot. InvocationID is empty for a unit systemd never started in this
# boot. No [Install] section: it is wanted by multi-user.target through a link (below).
cat >"$files/oob-vm-report.service" <<'EOF'
[Unit]
Description=Report the agent's unit state on the serial console (test image only)
After=oob-agent.service kiosk.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "oob-vm: boot $(cat /proc/sys/kernel/random/boot_id) agent-enabled=$(systemctl is-enabled oob-agent.service) agent-invocation=$(systemctl show -P InvocationID oob-agent.service | grep . || echo none) kiosk-enabled=$(systemctl is-enabled kiosk.service)" >/dev/ttyS0'
EOF

# The agent's service logs warnings only; the test image has it log its stages too (the
# "first boot: stage reached" lines, and when it ends its peak resident memory, for make bench),
# which journald forwards to the serial console.
cat >"$files/verbose.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/bin/oob-agent run --config /etc/oob/agent.json --verbose
EOF

cat >"$files/journald-console.conf" <<'EOF'
[Journal]
ForwardToConsole=yes
TTYPath=/dev/ttyS0
MaxLevelConsole=info
EOF

# The initramfs loads these before the root is mounted: the disk, and the framebuffer's driver
# (so that /dev/fb0 is there when systemd starts the agent, whose first output is the
# framebuffer; without it the agent would fall back to the console).
printf '%s\n' virtio_pci virtio_blk ext4 bochs >"$files/oob-vm"

echo "building the VM image in $out (mmdebstrap; a few minutes)" >&2
# --essential-hook: before the packages are installed, so the kernel's initramfs is made
# with the modules list. --customize-hook: after, with the root at "$1".
mmdebstrap --variant=apt --architectures=amd64 --include="$packages" \
	--essential-hook='mkdir -p "$1"/usr/share/initramfs-tools/modules.d' \
	--essential-hook="copy-in $files/oob-vm /usr/share/initramfs-tools/modules.d" \
	--customize-hook="copy-in $files/oob-agent.deb /tmp" \
	--customize-hook='chroot "$1" apt-get install -y /tmp/oob-agent.deb' \
	--customize-hook='rm "$1"/tmp/oob-agent.deb' \
	--customize-hook="copy-in $files/agent.json $files/dps-ca.pem /etc/oob" \
	--customize-hook="copy-in $files/hosts /etc" \
	--customize-hook='echo oob-vm >"$1"/etc/hostname' \
	--customize-hook="copy-in $files/10-vm.network /etc/systemd/network" \
	--customize-hook='chroot "$1" systemctl enable systemd-networkd.service' \
	--customize-hook="copy-in $files/kiosk.service $files/oob-vm-report.service /etc/systemd/system" \
	--customize-hook='mkdir -p "$1"/etc/systemd/system/multi-user.target.wants' \
	--customize-hook='ln -s ../oob-vm-report.service "$1"/etc/systemd/system/multi-user.target.wants/' \
	--customize-hook='mkdir -p "$1"/etc/systemd/system/oob-agent.service.d "$1"/etc/systemd/journald.conf.d' \
	--customize-hook="copy-in $files/verbose.conf /etc/systemd/system/oob-agent.service.d" \
	--customize-hook='chroot "$1" systemctl mask serial-getty@ttyS0.service' \
	--customize-hook="copy-in $files/journald-console.conf /etc/systemd/journald.conf.d" \
	--customize-hook='chroot "$1" systemctl is-enabled oob-agent.service' \
	--customize-hook="sync-out /boot $work/boot" \
	bookworm "$work/rootfs.tar" http://deb.debian.org/debian

# The root filesystem made from the tree, with room for the state and the journal. -d needs
# the tree unpacked (as root, to keep owners and modes).
mkdir "$work/root"
tar -C "$work/root" --numeric-owner -xpf "$work/rootfs.tar"
mkfs.ext4 -q -L oob-root -d "$work/root" "$work/rootfs.ext4" 2G
cp -L "$work/boot"/vmlinuz-* "$work/vmlinuz"
cp -L "$work/boot"/initrd.img-* "$work/initrd.img"

mkdir -p "$out"
mv "$work/rootfs.ext4" "$work/vmlinuz" "$work/initrd.img" "$out/"
touch "$out/done"
# Each agent build is a new key, so old images pile up (800 MB each): keep the two used last.
"$(dirname "$0")/prune-cache.sh" "$cache" 2
echo "$out" >&3
