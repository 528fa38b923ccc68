#!/bin/busybox sh
# /init of the VMM referee's initramfs (hostprobe/vmm/initramfs.ts builds it): runs Debian's arm64
# QEMU on this kernel's /dev/kvm, one job per line of /jobs, and prints everything on the console
# between markers that hostprobe/vmm/referee.ts parses:
#
#   save <name> <guest> <gic>          boot /guests/<guest>.elf, wait for its @@ready, QMP
#                                      `migrate` to "exec:cat > /out/<name>.mig", poll
#                                      `query-migrate` until completed, `quit`
#   restore <name> <guest> <gic> <in>  `-incoming defer`, QMP `migrate-incoming` from "exec:cat
#                                      /in/<in>.mig" (or /out/<in>.mig, saved earlier in this
#                                      boot), poll `query-status`; if QEMU loads it and
#                                      the guest runs, send it `r` on its UART, wait for @@done
#   capture                            hostprobe capture (the nested host, from the same boot)
#
# QMP (not HMP: its readline echoes every keystroke) runs on QEMU's stdin/stdout through a FIFO.
# Per job: `@@vmm begin <job…>`, then each of QEMU's command line, QMP commands and answers, stderr,
# guest serial output as `@@vmm text <what>` … `@@vmm endtext`, saved streams gzip+base64 as
# `@@vmm blob <name> <bytes> <sha256>` … `@@vmm endblob`, `@@vmm end <name> <status> <exit>
# <seconds>`. Every wait has a deadline; a job that misses one says where (status = the step).
# The KVM guest is small (-m 32, one vCPU) and QEMU's default devices are off (-nodefaults).

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /out
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

QEMU=/usr/bin/qemu-system-aarch64
echo "@@vmm uname $(uname -r)"
echo "@@vmm version $(cat /proc/version)"
if [ -c /dev/kvm ]; then echo "@@vmm kvm yes"; else echo "@@vmm kvm no"; fi
echo "@@vmm qemu $($QEMU --version | head -n 1)"

now() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }

# wait_for <file> <pattern> <seconds>: 0 when the pattern appears, 1 when QEMU died, 2 at the
# deadline
wait_for() {
  end=$(($(now) + $3))
  while [ "$(now)" -lt "$end" ]; do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$QPID" 2>/dev/null || { grep -q "$2" "$1" 2>/dev/null && return 0; return 1; }
    sleep 1
  done
  return 2
}

qmp() {
  echo "$1" >>"/tmp/$N.qmp"
  echo "$1" >&3
}

# start <guest> <gic> [extra args…]: QEMU in the background, QMP on a FIFO to its stdin, the
# guest UART on a pipe chardev (/tmp/$N.in, /tmp/$N.out)
start() {
  g=$1
  gic=$2
  shift 2
  rm -f /tmp/$N.*
  mkfifo /tmp/$N.in /tmp/$N.out /tmp/$N.mon
  cat /tmp/$N.out >/tmp/$N.serial &
  CATPID=$!
  set -- -M "virt,gic-version=$gic" -accel kvm -cpu host -smp 1 -m 32 -nodefaults \
    -display none -kernel "/guests/$g.elf" -chardev "pipe,id=ser0,path=/tmp/$N" \
    -serial chardev:ser0 -qmp stdio "$@"
  echo "$QEMU $*" >/tmp/$N.cmdline
  $QEMU "$@" </tmp/$N.mon >/tmp/$N.monitor 2>/tmp/$N.stderr &
  QPID=$!
  exec 3>/tmp/$N.mon
  qmp '{"execute":"qmp_capabilities"}'
  T0=$(now)
}

# finish: quit QEMU if it still runs, collect its exit status, print the texts
finish() {
  if kill -0 "$QPID" 2>/dev/null; then
    qmp '{"execute":"quit"}'
    i=0
    while kill -0 "$QPID" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
    kill -9 "$QPID" 2>/dev/null
  fi
  wait "$QPID"
  CODE=$?
  exec 3>&-
  sleep 1
  kill "$CATPID" 2>/dev/null
  for t in cmdline qmp monitor stderr serial; do
    echo "@@vmm text $t"
    cat /tmp/$N.$t 2>/dev/null
    echo
    echo "@@vmm endtext"
  done
}

blob() {
  size=$(wc -c <"$2")
  sum=$(sha256sum "$2" | cut -d' ' -f1)
  echo "@@vmm blob $1 $size $sum"
  gzip -c "$2" | base64
  echo "@@vmm endblob"
}

save() {
  N=$1
  start "$2" "$3"
  STATUS=ready-timeout
  if wait_for /tmp/$N.serial '^@@ready' 240; then
    qmp '{"execute":"migrate","arguments":{"uri":"exec:cat > /out/'"$N"'.mig"}}'
    STATUS=migrate-timeout
    end=$(($(now) + 300))
    while [ "$(now)" -lt "$end" ] && kill -0 "$QPID" 2>/dev/null; do
      qmp '{"execute":"query-migrate"}'
      sleep 2
      if grep -q '"status": "completed"' /tmp/$N.monitor; then STATUS=saved; break; fi
      if grep -q '"status": "failed"' /tmp/$N.monitor; then STATUS=migrate-failed; break; fi
    done
  else
    [ $? = 1 ] && STATUS=exited-before-ready
  fi
  SECONDS_=$(($(now) - T0))
  finish
  [ -f /out/$N.mig ] && [ "$STATUS" = saved ] && blob "$N" /out/$N.mig
  echo "@@vmm end $N $STATUS $CODE $SECONDS_"
}

restore() {
  N=$1
  start "$2" "$3" -incoming defer
  src=/in/$4.mig
  [ -f "$src" ] || src=/out/$4.mig # saved earlier in this boot
  qmp '{"execute":"migrate-incoming","arguments":{"uri":"exec:cat '"$src"'"}}'
  STATUS=load-timeout
  end=$(($(now) + 300))
  while [ "$(now)" -lt "$end" ]; do
    if ! kill -0 "$QPID" 2>/dev/null; then STATUS=qemu-exited; break; fi
    qmp '{"execute":"query-status"}'
    sleep 2
    if grep -q '"status": "running"' /tmp/$N.monitor; then STATUS=loaded; break; fi
  done
  if [ "$STATUS" = loaded ]; then
    printf r >/tmp/$N.in
    STATUS=guest-timeout
    if wait_for /tmp/$N.serial '^@@done' 240; then STATUS=ran; else [ $? = 1 ] && STATUS=guest-died; fi
  fi
  SECONDS_=$(($(now) - T0))
  finish
  echo "@@vmm end $N $STATUS $CODE $SECONDS_"
}

while read -r job a b c d; do
  [ -z "$job" ] && continue
  echo "@@vmm begin $job $a $b $c $d"
  case "$job" in
    save) save "$a" "$b" "$c" ;;
    restore) restore "$a" "$b" "$c" "$d" ;;
    capture)
      /hostprobe capture
      echo "@@vmm end capture done $? 0"
      ;;
    *) echo "@@vmm end $job unknown-job 1 0" ;;
  esac
done </jobs

echo "@@vmm poweroff"
sync
poweroff -f
