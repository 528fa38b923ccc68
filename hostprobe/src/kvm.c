/* hostprobe: thin wrappers over the KVM ioctls; every function returns 0 or a positive errno. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int kvm_fd = -1;
long kvm_run_size;

static int err(int r) { return r < 0 ? errno : 0; }

int kvm_open(void)
{
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return errno;
	kvm_run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm_run_size < 0)
		return errno;
	return 0;
}

void vm_empty(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->gic = -1;
	for (int i = 0; i < MAX_VCPUS; i++)
		vm->vcpu[i] = -1;
}

int vm_create(struct vm *vm)
{
	vm_empty(vm);
	/* Machine type 0: the default IPA size (40 bits). */
	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	return vm->fd < 0 ? errno : 0;
}

void vm_close(struct vm *vm)
{
	for (int i = 0; i < MAX_VCPUS; i++) {
		if (vm->run[i])
			munmap(vm->run[i], (size_t)kvm_run_size);
		if (vm->vcpu[i] >= 0)
			close(vm->vcpu[i]);
	}
	if (vm->gic >= 0)
		close(vm->gic);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->stub)
		munmap(vm->stub, 0x10000);
	vm_empty(vm);
}

int vm_check_cap(struct vm *vm, long cap)
{
	int r = ioctl(vm->fd >= 0 ? vm->fd : kvm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? -errno : r;
}

int vm_enable_cap(struct vm *vm, uint32_t cap, const uint64_t *args, int nargs)
{
	struct kvm_enable_cap c;
	memset(&c, 0, sizeof(c));
	c.cap = cap;
	for (int i = 0; i < nargs && i < 4; i++)
		c.args[i] = args[i];
	return err(ioctl(vm->fd, KVM_ENABLE_CAP, &c));
}

int vm_preferred_target(struct vm *vm, struct kvm_vcpu_init *init)
{
	memset(init, 0, sizeof(*init));
	return err(ioctl(vm->fd, KVM_ARM_PREFERRED_TARGET, init));
}

int vcpu_create(struct vm *vm, int idx)
{
	if (idx < 0 || idx >= MAX_VCPUS)
		return EINVAL;
	if (vm->vcpu[idx] >= 0)
		return 0;
	int fd = ioctl(vm->fd, KVM_CREATE_VCPU, idx);
	if (fd < 0)
		return errno;
	vm->vcpu[idx] = fd;
	void *run = mmap(NULL, (size_t)kvm_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	vm->run[idx] = run == MAP_FAILED ? NULL : run;
	return 0;
}

/* KVM_ARM_VCPU_INIT needs the target KVM_ARM_PREFERRED_TARGET reports (api.rst 4.82). */
int vcpu_init(struct vm *vm, int idx, uint32_t features)
{
	struct kvm_vcpu_init init;
	int r = vcpu_create(vm, idx);
	if (r)
		return r;
	r = vm_preferred_target(vm, &init);
	if (r)
		return r;
	init.features[0] = features;
	return err(ioctl(vm->vcpu[idx], KVM_ARM_VCPU_INIT, &init));
}

int vcpu_finalize(struct vm *vm, int idx, int feature)
{
	return err(ioctl(vm->vcpu[idx], KVM_ARM_VCPU_FINALIZE, &feature));
}

size_t reg_size(uint64_t id)
{
	return (size_t)1 << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

int get_reg(int vcpufd, uint64_t id, void *buf)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)buf };
	return err(ioctl(vcpufd, KVM_GET_ONE_REG, &r));
}

int set_reg(int vcpufd, uint64_t id, const void *buf)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)buf };
	return err(ioctl(vcpufd, KVM_SET_ONE_REG, &r));
}

/* 64-bit access for ids of any size <= 8 bytes; the buffer is little-endian like the CPU. */
int get_reg64(int vcpufd, uint64_t id, uint64_t *v)
{
	uint8_t buf[256] = { 0 };
	if (reg_size(id) > 8)
		return E2BIG;
	int r = get_reg(vcpufd, id, buf);
	*v = 0;
	memcpy(v, buf, reg_size(id));
	return r;
}

int set_reg64(int vcpufd, uint64_t id, uint64_t v)
{
	uint8_t buf[256] = { 0 };
	if (reg_size(id) > 8)
		return E2BIG;
	memcpy(buf, &v, reg_size(id));
	return set_reg(vcpufd, id, buf);
}

int reg_list(int vcpufd, uint64_t **ids, size_t *n)
{
	struct kvm_reg_list probe = { .n = 0 };
	*ids = NULL;
	*n = 0;
	/* The first call fails with E2BIG and reports the count (api.rst 4.84). */
	if (ioctl(vcpufd, KVM_GET_REG_LIST, &probe) == 0)
		return 0;
	if (errno != E2BIG)
		return errno;
	struct kvm_reg_list *l = malloc(sizeof(*l) + probe.n * sizeof(uint64_t));
	if (!l)
		return ENOMEM;
	l->n = probe.n;
	if (ioctl(vcpufd, KVM_GET_REG_LIST, l) < 0) {
		int e = errno;
		free(l);
		return e;
	}
	*ids = malloc(l->n * sizeof(uint64_t) + 1);
	if (!*ids) {
		free(l);
		return ENOMEM;
	}
	memcpy(*ids, l->reg, l->n * sizeof(uint64_t));
	*n = l->n;
	free(l);
	return 0;
}

int gic_create(struct vm *vm, int version)
{
	struct kvm_create_device d;
	memset(&d, 0, sizeof(d));
	d.type = version == 2 ? KVM_DEV_TYPE_ARM_VGIC_V2 : KVM_DEV_TYPE_ARM_VGIC_V3;
	if (ioctl(vm->fd, KVM_CREATE_DEVICE, &d) < 0)
		return errno;
	if (vm->gic >= 0)
		close(vm->gic);
	vm->gic = (int)d.fd;
	vm->gic_version = version;
	return 0;
}

/* Value widths per KVM_DEV_ARM_VGIC_GRP_* (arm-vgic.rst, arm-vgic-v3.rst). */
size_t gic_attr_width(uint32_t group)
{
	switch (group) {
	case KVM_DEV_ARM_VGIC_GRP_ADDR:
	case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
		return 8;
	case KVM_DEV_ARM_VGIC_GRP_CTRL:
		return 0;
	default:
		return 4;
	}
}

int gic_set(struct vm *vm, uint32_t group, uint64_t attr, uint64_t v)
{
	uint32_t v32 = (uint32_t)v;
	uint64_t v64 = v;
	struct kvm_device_attr a = { .group = group, .attr = attr };
	size_t w = gic_attr_width(group);
	a.addr = w == 8 ? (uint64_t)(uintptr_t)&v64 : w == 4 ? (uint64_t)(uintptr_t)&v32 : 0;
	return err(ioctl(vm->gic, KVM_SET_DEVICE_ATTR, &a));
}

int gic_get(struct vm *vm, uint32_t group, uint64_t attr, uint64_t *v)
{
	uint32_t v32 = 0;
	uint64_t v64 = 0;
	struct kvm_device_attr a = { .group = group, .attr = attr };
	size_t w = gic_attr_width(group);
	a.addr = w == 8 ? (uint64_t)(uintptr_t)&v64 : (uint64_t)(uintptr_t)&v32;
	int r = err(ioctl(vm->gic, KVM_GET_DEVICE_ATTR, &a));
	*v = w == 8 ? v64 : v32;
	return r;
}

/* QEMU virt's GIC frames; KVM only needs them aligned and non-overlapping. */
#define GIC_V3_DIST 0x08000000ULL
#define GIC_V3_REDIST 0x080a0000ULL
#define GIC_V2_DIST 0x08000000ULL
#define GIC_V2_CPU 0x08010000ULL

int gic_setup(struct vm *vm, int version, int init)
{
	int r = gic_create(vm, version);
	if (r)
		return r;
	if (version == 3) {
		if ((r = gic_set(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_V3_DIST)))
			return r;
		if ((r = gic_set(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, GIC_V3_REDIST)))
			return r;
	} else {
		if ((r = gic_set(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, GIC_V2_DIST)))
			return r;
		if ((r = gic_set(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU, GIC_V2_CPU)))
			return r;
	}
	if (!init)
		return 0;
	return gic_set(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, 0);
}

int set_counter_offset(struct vm *vm, uint64_t off, uint64_t reserved)
{
	struct kvm_arm_counter_offset o = { .counter_offset = off, .reserved = reserved };
	return err(ioctl(vm->fd, KVM_ARM_SET_COUNTER_OFFSET, &o));
}

int writable_masks(struct vm *vm, uint64_t *masks)
{
	struct reg_mask_range r;
	memset(&r, 0, sizeof(r));
	r.addr = (uint64_t)(uintptr_t)masks;
	r.range = 0;
	return err(ioctl(vm->fd, KVM_ARM_GET_REG_WRITABLE_MASKS, &r));
}

/*
 * Guest stubs, loaded at STUB_IPA (A64, little-endian), each ending in a store of x0 to the
 * unbacked STUB_MMIO, which exits to us as KVM_EXIT_MMIO carrying x0. Literals at 0x20.. .
 *
 * HVC stub (vcpu_run_hvc):
 *   0x00 ldr x0, 0x20      58000100
 *   0x04 ldr x1, 0x28      58000121
 *   0x08 hvc #0            d4000002
 *   0x0c ldr x2, 0x30      58000122
 *   0x10 str x0, [x2]      f9000040
 *   0x14 b .               14000000
 *   0x20 fn, 0x28 arg, 0x30 STUB_MMIO
 *
 * MMIO stub (vcpu_run_mmio), a 32-bit device access with the MMU off:
 *   0x00 ldr x2, 0x20      58000102   address
 *   0x04 ldr x1, 0x28      58000121   value
 *   0x08 str w1, [x2]      b9000041   (replaced by a nop, d503201f, for a read)
 *   0x0c ldr w0, [x2]      b9400040
 *   0x10 ldr x3, 0x30      58000103
 *   0x14 str x0, [x3]      f9000060
 *   0x18 b .               14000000
 *   0x20 address, 0x28 value, 0x30 STUB_MMIO
 */
#define STUB_IPA 0x40000000ULL
#define STUB_MMIO 0x00010000ULL
#define STUB_SLOT 7

static void on_alarm(int sig) { (void)sig; }

static int run_stub(struct vm *vm, int idx, const uint32_t *code, size_t ncode,
		    const uint64_t *lit, size_t nlit, struct run_result *res)
{
	memset(res, 0, sizeof(*res));
	if (idx < 0 || idx >= MAX_VCPUS || vm->vcpu[idx] < 0 || !vm->run[idx])
		return ENOENT;
	if (!vm->stub) {
		void *mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return errno;
		struct kvm_userspace_memory_region m = {
			.slot = STUB_SLOT, .guest_phys_addr = STUB_IPA, .memory_size = 0x10000,
			.userspace_addr = (uint64_t)(uintptr_t)mem,
		};
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &m) < 0) {
			int e = errno;
			munmap(mem, 0x10000);
			return e;
		}
		vm->stub = mem;
	}
	memset(vm->stub, 0, 0x40);
	memcpy(vm->stub, code, ncode * sizeof(uint32_t));
	memcpy((uint8_t *)vm->stub + 0x20, lit, nlit * sizeof(uint64_t));
	int fd = vm->vcpu[idx];
	int r;
	/* regs.pc and regs.pstate (EL1h, DAIF masked) in struct kvm_regs, 32-bit word offsets. */
	if ((r = set_reg64(fd, 0x6030000000100040ULL, STUB_IPA)))
		return r;
	if ((r = set_reg64(fd, 0x6030000000100042ULL, 0x3c5)))
		return r;
	/* A previous MMIO exit would otherwise be "completed" (PC advanced) on this entry. */
	vm->run[idx]->exit_reason = KVM_EXIT_UNKNOWN;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: KVM_RUN returns EINTR on timeout */
	sigaction(SIGALRM, &sa, NULL);
	alarm(5);
	r = ioctl(fd, KVM_RUN, 0);
	int e = errno;
	alarm(0);
	if (r < 0)
		return e;
	struct kvm_run *run = vm->run[idx];
	res->exit_reason = (int)run->exit_reason;
	if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write)
		memcpy(&res->x0, run->mmio.data, 8);
	if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT)
		res->event_type = run->system_event.type;
	return 0;
}

int vcpu_run_hvc(struct vm *vm, int idx, uint64_t fn, uint64_t arg, struct run_result *res)
{
	static const uint32_t code[] = { 0x58000100, 0x58000121, 0xd4000002,
					 0x58000122, 0xf9000040, 0x14000000 };
	uint64_t lit[3] = { fn, arg, STUB_MMIO };
	return run_stub(vm, idx, code, 6, lit, 3, res);
}

int vcpu_run_mmio(struct vm *vm, int idx, uint64_t addr, int write, uint32_t value,
		  struct run_result *res)
{
	uint32_t code[] = { 0x58000102, 0x58000121, 0xb9000041, 0xb9400040,
			    0x58000103, 0xf9000060, 0x14000000 };
	if (!write)
		code[2] = 0xd503201f; /* nop */
	uint64_t lit[3] = { addr, value, STUB_MMIO };
	return run_stub(vm, idx, code, 7, lit, 3, res);
}
