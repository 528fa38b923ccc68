/* hostprobe capture: JSON lines describing this kernel's KVM/arm64 behaviour. */
#ifndef HOSTPROBE_CAPTURE_H
#define HOSTPROBE_CAPTURE_H
int capture(void);
int ioctl_check_system(long cap);
#endif
