/*
 * hostprobe: the KVM/arm64 uapi pieces it uses, and thin wrappers that return 0 or an errno.
 *
 * The cross toolchain's headers are Linux 6.1 (linux-libc-dev-arm64-cross); the few newer uapi
 * numbers are defined below with the header they come from, so the same binary asks newer
 * kernels the newer questions and older kernels answer ENOTTY/EINVAL for themselves.
 */
#ifndef HOSTPROBE_KVM_H
#define HOSTPROBE_KVM_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/* include/uapi/linux/kvm.h, 6.4: KVM_CAP_COUNTER_OFFSET and its ioctl. */
#ifndef KVM_ARM_SET_COUNTER_OFFSET
struct kvm_arm_counter_offset {
	uint64_t counter_offset;
	uint64_t reserved;
};
#define KVM_ARM_SET_COUNTER_OFFSET _IOW(KVMIO, 0xb5, struct kvm_arm_counter_offset)
#endif
/* include/uapi/linux/kvm.h + arch/arm64/include/uapi/asm/kvm.h, 6.7 (3f9cd0ca8484). */
#ifndef KVM_ARM_GET_REG_WRITABLE_MASKS
struct reg_mask_range {
	uint64_t addr;      /* pointer to KVM_ARM_FEATURE_ID_RANGE_SIZE u64 masks */
	uint32_t range;     /* KVM_ARM_FEATURE_ID_RANGE = 0 */
	uint32_t reserved[13];
};
#define KVM_ARM_GET_REG_WRITABLE_MASKS _IOR(KVMIO, 0xb6, struct reg_mask_range)
#endif
#define KVM_ARM_FEATURE_ID_RANGE_SIZE (3 * 8 * 8)

/* arch/arm64/include/uapi/asm/kvm.h feature bits newer than 6.1. */
#define HP_KVM_ARM_VCPU_HAS_EL2 7

#define MAX_VCPUS 64

/* One VM with its vCPUs and (at most one) vGIC device. fds are -1 when absent. */
struct vm {
	int fd;
	int vcpu[MAX_VCPUS];
	struct kvm_run *run[MAX_VCPUS];
	int gic;
	int gic_version; /* 2 or 3 once created */
	void *stub;      /* guest memory for the `run` stub, once mapped */
};

extern int kvm_fd;          /* /dev/kvm */
extern long kvm_run_size;   /* KVM_GET_VCPU_MMAP_SIZE */

int kvm_open(void);
/* A struct vm with nothing open; vm_close on it is a no-op. */
void vm_empty(struct vm *vm);
int vm_create(struct vm *vm);
void vm_close(struct vm *vm);
int vm_check_cap(struct vm *vm, long cap);
int vm_enable_cap(struct vm *vm, uint32_t cap, const uint64_t *args, int nargs);
int vm_preferred_target(struct vm *vm, struct kvm_vcpu_init *init);
int vcpu_create(struct vm *vm, int idx);
int vcpu_init(struct vm *vm, int idx, uint32_t features);
int vcpu_finalize(struct vm *vm, int idx, int feature);
/* Register size in bytes from the ONE_REG id (KVM_REG_SIZE). */
size_t reg_size(uint64_t id);
int get_reg(int vcpufd, uint64_t id, void *buf);
int set_reg(int vcpufd, uint64_t id, const void *buf);
int get_reg64(int vcpufd, uint64_t id, uint64_t *v);
int set_reg64(int vcpufd, uint64_t id, uint64_t v);
/* KVM_GET_REG_LIST; *ids is malloc'd. */
int reg_list(int vcpufd, uint64_t **ids, size_t *n);
int gic_create(struct vm *vm, int version);
/* Width of a vGIC attribute value in bytes for a group (0 = no value). */
size_t gic_attr_width(uint32_t group);
int gic_set(struct vm *vm, uint32_t group, uint64_t attr, uint64_t v);
int gic_get(struct vm *vm, uint32_t group, uint64_t attr, uint64_t *v);
/* Create the vGIC (v3 or v2) at QEMU virt's addresses and KVM_DEV_ARM_VGIC_CTRL_INIT it. */
int gic_setup(struct vm *vm, int version, int init);
int set_counter_offset(struct vm *vm, uint64_t off, uint64_t reserved);
int writable_masks(struct vm *vm, uint64_t *masks);

/* The `run` probe: the guest does HVC #0 with x0=fn, x1=arg and stores the returned x0 to an
 * unbacked address, which exits to us as KVM_EXIT_MMIO. */
struct run_result {
	int exit_reason;        /* KVM_EXIT_* */
	uint64_t x0;            /* returned x0 when exit_reason == KVM_EXIT_MMIO */
	uint32_t event_type;    /* KVM_EXIT_SYSTEM_EVENT type */
};
int vcpu_run_hvc(struct vm *vm, int idx, uint64_t fn, uint64_t arg, struct run_result *r);
/* The guest writes `value` (if `write`) to the 32-bit device register at IPA `addr`, reads it
 * back, and stores what it read (x0) to the unbacked address. */
int vcpu_run_mmio(struct vm *vm, int idx, uint64_t addr, int write, uint32_t value,
		  struct run_result *r);

#define ARM64_SYSREG(op0, op1, crn, crm, op2) \
	(0x6030000000130000ULL | ((uint64_t)(op0) << 14) | ((uint64_t)(op1) << 11) | \
	 ((uint64_t)(crn) << 7) | ((uint64_t)(crm) << 3) | (uint64_t)(op2))
#define SYSREG_INSTR(op0, op1, crn, crm, op2) \
	((uint64_t)(ARM64_SYSREG(op0, op1, crn, crm, op2) & 0xffff))

#endif
