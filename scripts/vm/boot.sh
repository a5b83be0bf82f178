#!/usr/bin/env bash
# Boot the image scripts/vm/build-image.sh made, in QEMU, with a TPM 2.0 from swtpm:
#
#   scripts/vm/boot.sh --image DIR --run DIR --dps-port PORT --hub-port PORT
#
# --image is build-image.sh's output; --run holds this device's own state, kept between boots
# (run the script again on the same --run for the same device, powered on again):
#
#   disk.qcow2    the device's disk: a copy-on-write overlay on DIR/rootfs.ext4, made on first use
#   tpm/          the TPM's state, manufactured on first use with an EK and its certificate
#                 (swtpm_setup --create-ek-cert); swtpm.sock is its control socket
#   serial.log    the serial console (ttyS0: kernel, systemd, the agent's journal), appended
#   qmp.sock      QEMU's QMP socket: screendump (the framebuffer), quit
#
# The guest's only network is QEMU's user network with restrict=on (no way out) and two
# forwards to the host's loopback: 10.0.2.100:443 to the emulator's DPS (--dps-port) and
# 10.0.2.101:8883 to its IoT hub MQTT endpoint (--hub-port). The image's /etc/hosts names them
# dps.oob.test and hub.oob.test.
# Each forward runs socat for each connection the guest opens ("cmd:"): a forward to a chardev
# ("tcp:127.0.0.1:PORT") would be one connection, opened when QEMU starts and used by the guest's
# first connection only, while the agent opens one per request and retry.
#
# The disk uses cache=writeback: what the guest has flushed (fsync, a journal commit) is in the
# host's file when QEMU returns, so killing QEMU is a power cut that loses only what the guest
# had not flushed yet (cache=unsafe would ignore flushes and lose more). A guest reboot keeps
# QEMU running (no -no-reboot): the kernel is loaded again from --image.
#
# KVM is used when it is usable (below), TCG (slower, no hardware needed) otherwise;
# OOB_VM_ACCEL=kvm or tcg forces one. The choice is printed on stderr as "boot.sh: accel
# kvm|tcg". QEMU runs in the foreground (exec); swtpm ends when QEMU closes its socket.
set -euo pipefail

usage() {
	echo "usage: $0 --image DIR --run DIR --dps-port PORT --hub-port PORT" >&2
	exit 2
}
image= run= dps= hub=
while (($#)); do
	case $1 in
	--image) image=${2:?}; shift 2 ;;
	--run) run=${2:?}; shift 2 ;;
	--dps-port) dps=${2:?}; shift 2 ;;
	--hub-port) hub=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done
[[ -f $image/rootfs.ext4 && -n $run && -n $dps && -n $hub ]] || usage
for tool in qemu-system-x86_64 qemu-img swtpm swtpm_setup socat; do
	command -v "$tool" >/dev/null || {
		echo "$tool is not installed (scripts/deps.sh vm installs it)" >&2
		exit 1
	}
done

mkdir -p "$run/tpm"
if [[ ! -e $run/disk.qcow2 ]]; then
	qemu-img create -q -f qcow2 -F raw -b "$(realpath "$image/rootfs.ext4")" "$run/disk.qcow2"
fi
if [[ ! -e $run/tpm/tpm2-00.permall ]]; then
	swtpm_setup --tpm2 --create-ek-cert --tpmstate "$run/tpm" --overwrite >"$run/tpm/setup.log" 2>&1 || {
		cat "$run/tpm/setup.log" >&2
		echo "swtpm_setup failed (log above)" >&2
		exit 1
	}
fi

# The TPM: QEMU drives swtpm through its control socket (power, reset at the guest's reboot)
# and hands it the data channel. --terminate ends swtpm when QEMU goes, killed or not.
rm -f "$run/tpm/swtpm.sock"
swtpm socket --tpm2 --tpmstate "dir=$run/tpm" --ctrl "type=unixio,path=$run/tpm/swtpm.sock" \
	--terminate --log "file=$run/tpm/swtpm.log" &
for _ in $(seq 100); do
	[[ -S $run/tpm/swtpm.sock ]] && break
	sleep 0.05
done
[[ -S $run/tpm/swtpm.sock ]] || {
	echo "swtpm did not open $run/tpm/swtpm.sock" >&2
	exit 1
}

# KVM is usable when /dev/kvm opens and offers the CPU features of QEMU's baseline model:
# nested under some hypervisors it opens but lacks them (QEMU warns "host doesn't support
# requested feature"), and a guest kernel then hangs before its first message.
kvm_usable() {
	(exec 3<>/dev/kvm) 2>/dev/null || return 1
	local warnings
	warnings=$(printf '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n' |
		timeout 20 qemu-system-x86_64 -accel kvm -cpu qemu64 -machine q35 -S -nodefaults \
			-no-user-config -display none -qmp stdio 2>&1 >/dev/null) || return 1
	[[ $warnings != *"doesn't support requested feature"* ]]
}
accel=tcg cpu=(-cpu max)
case ${OOB_VM_ACCEL:-auto} in
kvm) accel=kvm cpu=(-cpu host) ;;
tcg) ;;
*) if kvm_usable; then accel=kvm cpu=(-cpu host); fi ;;
esac
echo "boot.sh: accel $accel" >&2

rm -f "$run/qmp.sock"
# -vga std: the bochs display, /dev/fb0 in the guest (its driver is in the initramfs).
# console=ttyS0 only: the kernel and systemd write to the serial log, not over the screen;
# vt.global_cursor_default=0 keeps the console's blinking cursor off the framebuffer.
exec qemu-system-x86_64 \
	-name oob-vm -machine q35 -accel "$accel" "${cpu[@]}" -smp 2 -m 1024 \
	-kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
	-append "root=/dev/vda rw console=ttyS0 vt.global_cursor_default=0 systemd.show_status=1" \
	-drive "file=$run/disk.qcow2,format=qcow2,if=virtio,cache=writeback" \
	-chardev "socket,id=chrtpm,path=$run/tpm/swtpm.sock" \
	-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
	-vga std -display none \
	-chardev "file,id=serial0,path=$run/serial.log,append=on" -serial chardev:serial0 \
	-qmp "unix:$run/qmp.sock,server=on,wait=off" \
	-netdev "user,id=net0,restrict=on,guestfwd=tcp:10.0.2.100:443-cmd:socat - TCP:127.0.0.1:$dps,guestfwd=tcp:10.0.2.101:8883-cmd:socat - TCP:127.0.0.1:$hub" \
	-device virtio-net-pci,netdev=net0 \
	-monitor none -nodefaults -no-user-config
