/*
 * hostprobe capture: what this kernel's KVM/arm64 offers and which restore operations it
 * accepts, asked of the kernel directly. Every question runs on a fresh VM unless it is about
 * ordering, and every answer is a JSON line (kinds documented in hostprobe/README.md).
 */
#include "capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "kvm.h"
#include "out.h"

#define PSCI_0_2 (1u << KVM_ARM_VCPU_PSCI_0_2)

/* KVM_CHECK_EXTENSION questions: arm64-relevant capabilities by uapi name (include/uapi/linux/kvm.h). */
static const struct { const char *name; long nr; } CAPS[] = {
	{ "KVM_CAP_IRQCHIP", 0 },
	{ "KVM_CAP_USER_MEMORY", 3 },
	{ "KVM_CAP_NR_VCPUS", 9 },
	{ "KVM_CAP_MP_STATE", 14 },
	{ "KVM_CAP_IRQ_ROUTING", 25 },
	{ "KVM_CAP_IRQFD", 32 },
	{ "KVM_CAP_MAX_VCPUS", 66 },
	{ "KVM_CAP_ONE_REG", 70 },
	{ "KVM_CAP_ARM_PSCI", 87 },
	{ "KVM_CAP_ARM_SET_DEVICE_ADDR", 88 },
	{ "KVM_CAP_DEVICE_CTRL", 89 },
	{ "KVM_CAP_ARM_EL1_32BIT", 93 },
	{ "KVM_CAP_ARM_PSCI_0_2", 102 },
	{ "KVM_CAP_GUEST_DEBUG_HW_BPS", 119 },
	{ "KVM_CAP_GUEST_DEBUG_HW_WPS", 120 },
	{ "KVM_CAP_ARM_PMU_V3", 126 },
	{ "KVM_CAP_VCPU_ATTRIBUTES", 127 },
	{ "KVM_CAP_MAX_VCPU_ID", 128 },
	{ "KVM_CAP_ARM_USER_IRQ", 144 },
	{ "KVM_CAP_ARM_INJECT_SERROR_ESR", 158 },
	{ "KVM_CAP_ARM_VM_IPA_SIZE", 165 },
	{ "KVM_CAP_ARM_SVE", 170 },
	{ "KVM_CAP_ARM_PTRAUTH_ADDRESS", 171 },
	{ "KVM_CAP_ARM_PTRAUTH_GENERIC", 172 },
	{ "KVM_CAP_ARM_IRQ_LINE_LAYOUT_2", 174 },
	{ "KVM_CAP_ARM_NISV_TO_USER", 177 },
	{ "KVM_CAP_ARM_INJECT_EXT_DABT", 178 },
	{ "KVM_CAP_STEAL_TIME", 187 },
	{ "KVM_CAP_ARM_MTE", 205 },
	{ "KVM_CAP_ARM_SYSTEM_SUSPEND", 216 },
	{ "KVM_CAP_COUNTER_OFFSET", 227 },
	{ "KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE", 228 },
	{ "KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES", 229 },
	{ "KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES", 230 },
	{ "KVM_CAP_ARM_WRITABLE_IMP_ID_REGS", 239 },
	{ "KVM_CAP_ARM_EL2", 240 },
	{ "KVM_CAP_ARM_EL2_E2H0", 241 },
};

/* vCPU feature sets whose register inventory is captured (features[0] bits, uapi asm/kvm.h). */
static const struct { const char *name; uint32_t features; int finalize_sve; } SETS[] = {
	{ "plain", 0, 0 },
	{ "psci-0.2", PSCI_0_2, 0 },
	{ "pmu-v3", PSCI_0_2 | (1u << KVM_ARM_VCPU_PMU_V3), 0 },
	{ "sve", PSCI_0_2 | (1u << KVM_ARM_VCPU_SVE), 1 },
	{ "ptrauth", PSCI_0_2 | (1u << KVM_ARM_VCPU_PTRAUTH_ADDRESS) | (1u << KVM_ARM_VCPU_PTRAUTH_GENERIC), 0 },
	{ "el2", PSCI_0_2 | (1u << HP_KVM_ARM_VCPU_HAS_EL2), 0 },
};

#define FW_REG(n) (0x6030000000140000ULL | (n))
#define BMAP_REG(n) (0x6030000000160000ULL | (n))
#define SVE_VLS 0x606000000015ffffULL

static char idbuf[24];
static const char *idstr(uint64_t id)
{
	snprintf(idbuf, sizeof(idbuf), "0x%016llx", (unsigned long long)id);
	return idbuf;
}

static int fresh(struct vm *vm, uint32_t features)
{
	vm_close(vm);
	int e = vm_create(vm);
	if (e)
		return e;
	return vcpu_init(vm, 0, features);
}

/* A vGIC of whichever version this host can emulate: v3, else v2 (a GICv2-only host). */
static int gic_setup_any(struct vm *vm)
{
	int e = gic_setup(vm, 3, 1);
	if (e == ENODEV)
		e = gic_setup(vm, 2, 1);
	return e;
}

static void header(void)
{
	struct utsname u;
	j_begin("header");
	j_str("tool", "hostprobe");
	j_int("format", 1);
	j_str("mode", "capture");
	if (uname(&u) == 0) {
		struct frag f = { 0 };
		/* built by hand: utsname strings are plain ASCII from the kernel */
		frag_add(&f, "{\"sysname\":\"%s\",\"release\":\"%s\",\"version\":\"%s\",\"machine\":\"%s\"}",
			 u.sysname, u.release, u.version, u.machine);
		j_raw("uname", f.s);
		frag_free(&f);
	}
	j_end();
}

static void caps(struct vm *vm)
{
	vm_close(vm);
	int e = vm_create(vm);
	for (size_t i = 0; i < sizeof(CAPS) / sizeof(CAPS[0]); i++) {
		int sys = ioctl_check_system(CAPS[i].nr);
		int v = e ? sys : vm_check_cap(vm, CAPS[i].nr);
		j_begin("cap");
		j_str("name", CAPS[i].name);
		j_int("number", CAPS[i].nr);
		j_int("value", v);
		j_int("system", sys);
		j_end();
	}
}

/* Every register of one vCPU: the inventory and each value (or the GET errno). */
static void dump_regs(struct vm *vm, const char *set)
{
	uint64_t *ids;
	size_t n;
	int e = reg_list(vm->vcpu[0], &ids, &n);
	j_begin("reglist");
	j_str("set", set);
	j_result("result", e);
	j_int("count", (long long)n);
	j_end();
	for (size_t i = 0; i < n; i++) {
		uint8_t buf[256];
		memset(buf, 0, sizeof(buf));
		int r = reg_size(ids[i]) > 256 ? E2BIG : get_reg(vm->vcpu[0], ids[i], buf);
		j_begin("reg");
		j_str("set", set);
		j_str("id", idstr(ids[i]));
		if (r == 0)
			j_hexbytes("value", buf, reg_size(ids[i]));
		j_result("result", r);
		j_end();
	}
	free(ids);
}

static void regsets(struct vm *vm)
{
	for (size_t s = 0; s < sizeof(SETS) / sizeof(SETS[0]); s++) {
		int e = fresh(vm, SETS[s].features);
		j_begin("vcpu_init");
		j_str("set", SETS[s].name);
		j_hex("features", SETS[s].features);
		j_result("result", e);
		j_end();
		if (e)
			continue;
		if (SETS[s].finalize_sve) {
			/* KVM_REG_ARM64_SVE_VLS before finalization: the vector lengths offered */
			uint8_t vls[64] = { 0 };
			int r = get_reg(vm->vcpu[0], SVE_VLS, vls);
			j_begin("sve_vls");
			j_result("result", r);
			if (r == 0)
				j_hexbytes("value", vls, sizeof(vls));
			j_end();
			/* GET_REG_LIST before finalization (api.rst: EPERM) */
			uint64_t *ids;
			size_t n;
			int pre = reg_list(vm->vcpu[0], &ids, &n);
			free(ids);
			int fin = vcpu_finalize(vm, 0, KVM_ARM_VCPU_SVE);
			int post = set_reg(vm->vcpu[0], SVE_VLS, vls);
			j_begin("sve_finalize");
			j_result("reglistBeforeFinalize", pre);
			j_result("result", fin);
			j_result("vlsSetAfterFinalize", post);
			j_end();
		}
		dump_regs(vm, SETS[s].name);
	}
}

/* SVE: may userspace restrict the vector lengths to VQ=1 only (a smaller host's set)? */
static void sve_vls_restrict(struct vm *vm)
{
	int e = fresh(vm, PSCI_0_2 | (1u << KVM_ARM_VCPU_SVE));
	if (e)
		return;
	uint8_t vls[64] = { 0 }, back[64] = { 0 };
	vls[0] = 1; /* bit 0 = VQ 1 (128-bit) */
	int r = set_reg(vm->vcpu[0], SVE_VLS, vls);
	int g = get_reg(vm->vcpu[0], SVE_VLS, back);
	int fin = vcpu_finalize(vm, 0, KVM_ARM_VCPU_SVE);
	j_begin("sve_vls_set");
	j_hex("written", 1);
	j_result("result", r);
	if (g == 0)
		j_hexbytes("readback", back, sizeof(back));
	j_result("finalize", fin);
	j_end();
}

static void masks(struct vm *vm)
{
	static uint64_t m[KVM_ARM_FEATURE_ID_RANGE_SIZE];
	static const int OP1[3] = { 0, 1, 3 };
	if (fresh(vm, PSCI_0_2))
		return;
	memset(m, 0, sizeof(m));
	int e = writable_masks(vm, m);
	j_begin("writable_masks");
	j_result("result", e);
	j_end();
	if (e)
		return;
	for (int x = 0; x < KVM_ARM_FEATURE_ID_RANGE_SIZE; x++) {
		if (!m[x])
			continue;
		j_begin("writable_mask");
		j_str("id", idstr(ARM64_SYSREG(3, OP1[x >> 6], 0, (x >> 3) & 7, x & 7)));
		j_hex("mask", m[x]);
		j_end();
	}
}

/*
 * Per 4-bit field of every listed ID register (op0=3, op1=0, CRn=0, CRm=1..7, plus MIDR/MPIDR/
 * REVIDR/CTR/CLIDR/AIDR): does SET_ONE_REG accept the value with that field one lower, one
 * higher? A success is undone at once so each question starts from the kernel's value.
 */
static int is_idreg(uint64_t id)
{
	if ((id & 0xffffffffffff0000ULL) != 0x6030000000130000ULL)
		return 0;
	unsigned enc = (unsigned)(id & 0xffff);
	unsigned op0 = enc >> 14, op1 = (enc >> 11) & 7, crn = (enc >> 7) & 15, crm = (enc >> 3) & 15;
	if (op0 != 3 || crn != 0)
		return 0;
	if (op1 == 0)
		return crm <= 7;
	return (op1 == 1 || op1 == 3) && crm == 0;
}

static void idreg_fields(struct vm *vm, const char *set, uint32_t features)
{
	if (fresh(vm, features))
		return;
	uint64_t *ids;
	size_t n;
	if (reg_list(vm->vcpu[0], &ids, &n))
		return;
	int fd = vm->vcpu[0];
	for (size_t i = 0; i < n; i++) {
		if (!is_idreg(ids[i]))
			continue;
		uint64_t v;
		if (get_reg64(fd, ids[i], &v))
			continue;
		struct frag lo = { 0 }, hi = { 0 };
		frag_add(&lo, "[");
		frag_add(&hi, "[");
		int same = set_reg64(fd, ids[i], v);
		for (int f = 0; f < 16; f++) {
			uint64_t field = (v >> (4 * f)) & 0xf;
			const char *sep = f ? "," : "";
			if (field == 0) {
				frag_add(&lo, "%s\"-\"", sep);
			} else {
				int r = set_reg64(fd, ids[i], v - (1ULL << (4 * f)));
				frag_add(&lo, "%s\"%s\"", sep, errname(r));
				if (r == 0)
					set_reg64(fd, ids[i], v);
			}
			if (field == 0xf) {
				frag_add(&hi, "%s\"-\"", sep);
			} else {
				int r = set_reg64(fd, ids[i], v + (1ULL << (4 * f)));
				frag_add(&hi, "%s\"%s\"", sep, errname(r));
				if (r == 0)
					set_reg64(fd, ids[i], v);
			}
		}
		frag_add(&lo, "]");
		frag_add(&hi, "]");
		uint64_t after;
		int g = get_reg64(fd, ids[i], &after);
		j_begin("idreg_fields");
		j_str("set", set);
		j_str("id", idstr(ids[i]));
		j_hex("value", v);
		j_result("same", same);
		j_raw("lower", lo.s);
		j_raw("raise", hi.s);
		j_int("restored", g == 0 && after == v);
		j_end();
		frag_free(&lo);
		frag_free(&hi);
	}
	free(ids);
}

/* One vGIC register read for the defaults table. */
static void gic_read(struct vm *vm, const char *when, const char *name, uint32_t group, uint64_t attr)
{
	uint64_t v = 0;
	int e = gic_get(vm, group, attr, &v);
	j_begin("gic_reg");
	j_int("version", vm->gic_version);
	j_str("when", when);
	j_str("name", name);
	j_int("group", group);
	j_hex("attr", attr);
	j_result("result", e);
	if (e == 0)
		j_hex("value", v);
	j_end();
}

#define D KVM_DEV_ARM_VGIC_GRP_DIST_REGS
#define R KVM_DEV_ARM_VGIC_GRP_REDIST_REGS
#define S KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS
#define C KVM_DEV_ARM_VGIC_GRP_CPU_REGS
/* GICv3 registers read for the defaults (GIC architecture spec IHI 0069 offsets; ICC_* encodings
 * op0 op1 CRn CRm op2 as KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS expects, arm-vgic-v3.rst). */
static const struct { const char *name; uint32_t group; uint64_t attr; } GICV3_REGS[] = {
	{ "GICD_CTLR", D, 0x0 },       { "GICD_TYPER", D, 0x4 },      { "GICD_IIDR", D, 0x8 },
	{ "GICD_TYPER2", D, 0xc },     { "GICD_IGROUPR1", D, 0x84 },  { "GICD_PIDR2", D, 0xffe8 },
	{ "GICR_CTLR", R, 0x0 },       { "GICR_IIDR", R, 0x4 },       { "GICR_TYPER", R, 0x8 },
	{ "GICR_TYPER_HI", R, 0xc },   { "GICR_WAKER", R, 0x14 },     { "GICR_PIDR2", R, 0xffe8 },
	{ "GICR_IGROUPR0", R, 0x10080 },
	{ "ICC_CTLR_EL1", S, SYSREG_INSTR(3, 0, 12, 12, 4) },
	{ "ICC_SRE_EL1", S, SYSREG_INSTR(3, 0, 12, 12, 5) },
	{ "ICC_PMR_EL1", S, SYSREG_INSTR(3, 0, 4, 6, 0) },
	{ "ICC_BPR0_EL1", S, SYSREG_INSTR(3, 0, 12, 8, 3) },
	{ "ICC_BPR1_EL1", S, SYSREG_INSTR(3, 0, 12, 12, 3) },
	{ "ICC_IGRPEN0_EL1", S, SYSREG_INSTR(3, 0, 12, 12, 6) },
	{ "ICC_IGRPEN1_EL1", S, SYSREG_INSTR(3, 0, 12, 12, 7) },
	{ "ICC_AP0R0_EL1", S, SYSREG_INSTR(3, 0, 12, 8, 4) },
	{ "ICC_AP1R0_EL1", S, SYSREG_INSTR(3, 0, 12, 9, 0) },
	{ "ICC_AP1R3_EL1", S, SYSREG_INSTR(3, 0, 12, 9, 3) },
};
/* GICv2 (IHI 0048): distributor and CPU interface, attr = vcpu_index << 32 | offset. */
static const struct { const char *name; uint32_t group; uint64_t attr; } GICV2_REGS[] = {
	{ "GICD_CTLR", D, 0x0 },   { "GICD_TYPER", D, 0x4 }, { "GICD_IIDR", D, 0x8 },
	{ "GICD_IGROUPR1", D, 0x84 }, { "GICC_CTLR", C, 0x0 }, { "GICC_PMR", C, 0x4 },
	{ "GICC_BPR", C, 0x8 },    { "GICC_ABPR", C, 0x1c }, { "GICC_APR0", C, 0xd0 },
	{ "GICC_IIDR", C, 0xfc },
};

static void gic_defaults(struct vm *vm, int version)
{
	int e = fresh(vm, PSCI_0_2);
	if (!e)
		e = gic_setup(vm, version, 0);
	j_begin("gic_create");
	j_int("version", version);
	j_result("result", e);
	j_end();
	if (e)
		return;
	size_t n = version == 3 ? sizeof(GICV3_REGS) / sizeof(GICV3_REGS[0])
				: sizeof(GICV2_REGS) / sizeof(GICV2_REGS[0]);
	/* Before KVM_DEV_ARM_VGIC_CTRL_INIT: EBUSY on v3 before 6.17 (f26e6af75782). */
	for (size_t i = 0; i < n; i++) {
		if (version == 3)
			gic_read(vm, "before_init", GICV3_REGS[i].name, GICV3_REGS[i].group, GICV3_REGS[i].attr);
		else
			gic_read(vm, "before_init", GICV2_REGS[i].name, GICV2_REGS[i].group, GICV2_REGS[i].attr);
	}
	/* The v2 register path may have initialised it already (lazy init). */
	e = gic_set(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, 0);
	j_begin("gic_init");
	j_int("version", version);
	j_result("result", e);
	j_end();
	for (size_t i = 0; i < n; i++) {
		if (version == 3)
			gic_read(vm, "after_init", GICV3_REGS[i].name, GICV3_REGS[i].group, GICV3_REGS[i].attr);
		else
			gic_read(vm, "after_init", GICV2_REGS[i].name, GICV2_REGS[i].group, GICV2_REGS[i].attr);
	}
}

/*
 * GICD_IIDR revision writes (49a1a2c70a7f, a0e6ae45af17): for each revision on a fresh VM, the
 * write's errno, the IIDR read back, GICR_CTLR (IR/CES appear at revision 3), and whether a
 * userspace IGROUPR write then sticks.
 */
static void iidr_v3(struct vm *vm)
{
	for (int rev = 0; rev <= 3; rev++) {
		for (int before_init = 0; before_init <= 1; before_init++) {
			int e = fresh(vm, PSCI_0_2);
			if (!e)
				e = gic_setup(vm, 3, !before_init);
			if (e) {
				j_begin("iidr_write");
				j_int("version", 3);
				j_int("revision", rev);
				j_int("beforeInit", before_init);
				j_str("setup", errname(e));
				j_end();
				continue;
			}
			uint64_t iidr = 0, back = 0, ctlr = 0, g1 = 0, g0 = 0;
			int ge = gic_get(vm, D, 0x8, &iidr);
			uint64_t w = (iidr & ~0xf000ULL) | ((uint64_t)rev << 12);
			if (ge)
				w = 0x0000043bULL | ((uint64_t)rev << 12); /* ProductID 0, Implementer ARM */
			int se = gic_set(vm, D, 0x8, w);
			int ie = before_init ? gic_set(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, 0) : 0;
			int be = gic_get(vm, D, 0x8, &back);
			int ce = gic_get(vm, R, 0x0, &ctlr);
			/* GICv3 resets interrupts to group 1; write group 0 and read back. */
			int s1 = gic_set(vm, D, 0x84, 0x0);
			int r1 = gic_get(vm, D, 0x84, &g1);
			int s0 = gic_set(vm, R, 0x10080, 0x0);
			int r0 = gic_get(vm, R, 0x10080, &g0);
			j_begin("iidr_write");
			j_int("version", 3);
			j_int("revision", rev);
			j_int("beforeInit", before_init);
			j_result("defaultRead", ge);
			if (ge == 0)
				j_hex("default", iidr);
			j_hex("written", w);
			j_result("result", se);
			if (before_init)
				j_result("init", ie);
			j_result("readbackResult", be);
			if (be == 0)
				j_hex("readback", back);
			j_result("gicrCtlrResult", ce);
			if (ce == 0)
				j_hex("gicrCtlr", ctlr);
			j_result("igroupr1Set", s1);
			j_result("igroupr1Get", r1);
			if (r1 == 0)
				j_hex("igroupr1", g1);
			j_result("gicrIgroupr0Set", s0);
			j_result("gicrIgroupr0Get", r0);
			if (r0 == 0)
				j_hex("gicrIgroupr0", g0);
			j_end();
		}
	}
}

/* GICv2: userspace IGROUPR writes stick only after a GICD_IIDR write (32f8777ed92d). */
static void igroupr_v2(struct vm *vm)
{
	for (int iidr_first = 0; iidr_first <= 1; iidr_first++) {
		for (int rev = 1; rev <= (iidr_first ? 3 : 1); rev++) {
			int e = fresh(vm, PSCI_0_2);
			if (!e)
				e = gic_setup(vm, 2, 1);
			if (e == 0 && iidr_first && rev == 2) {
				/* also: the same IIDR write without an explicit CTRL_INIT (lazy v2 init) */
				vm_close(vm);
				e = fresh(vm, PSCI_0_2);
				if (!e)
					e = gic_setup(vm, 2, 0);
				j_begin("igroupr_v2_lazy");
				j_result("setup", e);
				if (!e) {
					uint64_t iidr = 0, g = 0;
					int ge = gic_get(vm, D, 0x8, &iidr);
					int se = gic_set(vm, D, 0x8, (iidr & ~0xf000ULL) | 0x2000);
					int s1 = gic_set(vm, D, 0x84, 0xffffffffULL);
					int r1 = gic_get(vm, D, 0x84, &g);
					j_result("iidrRead", ge);
					j_result("iidrWrite", se);
					j_result("result", s1);
					if (r1 == 0)
						j_hex("readback", g);
				}
				j_end();
				e = fresh(vm, PSCI_0_2);
				if (!e)
					e = gic_setup(vm, 2, 1);
			}
			j_begin("igroupr_v2");
			j_int("iidrFirst", iidr_first);
			if (iidr_first)
				j_int("revision", rev);
			j_result("setup", e);
			if (e) {
				j_end();
				continue;
			}
			uint64_t iidr = 0, g = 0, back = 0;
			int ge = gic_get(vm, D, 0x8, &iidr);
			if (ge == 0)
				j_hex("iidr", iidr);
			if (iidr_first) {
				uint64_t w = (iidr & ~0xf000ULL) | ((uint64_t)rev << 12);
				int se = gic_set(vm, D, 0x8, w);
				int be = gic_get(vm, D, 0x8, &back);
				j_result("iidrWrite", se);
				if (be == 0)
					j_hex("iidrReadback", back);
			}
			/* GICv2 resets interrupts to group 0: write group 1 for SPIs 32..63 and read back. */
			int s = gic_set(vm, D, 0x84, 0xffffffffULL);
			int r = gic_get(vm, D, 0x84, &g);
			j_result("result", s);
			j_result("readbackResult", r);
			if (r == 0)
				j_hex("readback", g);
			j_end();
		}
	}
}

static const struct { const char *name; uint64_t id; } FW_REGS[] = {
	{ "KVM_REG_ARM_PSCI_VERSION", FW_REG(0) },
	{ "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1", FW_REG(1) },
	{ "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2", FW_REG(2) },
	{ "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3", FW_REG(3) },
	{ "KVM_REG_ARM_FW_REG(4)", FW_REG(4) },
	{ "KVM_REG_ARM_STD_BMAP", BMAP_REG(0) },
	{ "KVM_REG_ARM_STD_HYP_BMAP", BMAP_REG(1) },
	{ "KVM_REG_ARM_VENDOR_HYP_BMAP", BMAP_REG(2) },
	{ "KVM_REG_ARM_VENDOR_HYP_BMAP_2", BMAP_REG(3) },
	{ "KVM_REG_ARM_FW_FEAT_BMAP_REG(4)", BMAP_REG(4) },
};

/* PSCI_VERSION(major, minor) = major << 16 | minor (include/uapi/linux/psci.h). */
static const struct { const char *name; uint64_t v; } PSCI[] = {
	{ "0.1", 0x1 }, { "0.2", 0x2 }, { "1.0", 0x10000 }, { "1.1", 0x10001 },
	{ "1.2", 0x10002 }, { "1.3", 0x10003 }, { "2.0", 0x20000 },
};

static void firmware(struct vm *vm)
{
	for (int plain = 0; plain <= 1; plain++) {
		const char *set = plain ? "plain" : "psci-0.2";
		if (fresh(vm, plain ? 0 : PSCI_0_2))
			continue;
		for (size_t i = 0; i < sizeof(FW_REGS) / sizeof(FW_REGS[0]); i++) {
			uint64_t v;
			int e = get_reg64(vm->vcpu[0], FW_REGS[i].id, &v);
			j_begin("fw_default");
			j_str("set", set);
			j_str("name", FW_REGS[i].name);
			j_str("id", idstr(FW_REGS[i].id));
			j_result("result", e);
			if (e == 0)
				j_hex("value", v);
			j_end();
		}
		/* Which PSCI versions are accepted, each on a fresh vCPU. */
		for (size_t i = 0; i < sizeof(PSCI) / sizeof(PSCI[0]); i++) {
			uint64_t back = 0;
			int e = fresh(vm, plain ? 0 : PSCI_0_2);
			if (e)
				continue;
			e = set_reg64(vm->vcpu[0], FW_REG(0), PSCI[i].v);
			int g = get_reg64(vm->vcpu[0], FW_REG(0), &back);
			j_begin("psci_set");
			j_str("set", set);
			j_str("version", PSCI[i].name);
			j_hex("value", PSCI[i].v);
			j_result("result", e);
			if (g == 0)
				j_hex("readback", back);
			j_end();
		}
	}
	/* Bitmaps: same value, zero, the next unknown bit, all ones; workaround levels ±1. */
	for (int r = 0; r <= 3; r++) {
		uint64_t def;
		if (fresh(vm, PSCI_0_2) || get_reg64(vm->vcpu[0], BMAP_REG(r), &def)) {
			j_begin("bmap_set");
			j_str("id", idstr(BMAP_REG(r)));
			j_str("result", "absent");
			j_end();
			continue;
		}
		int hb = 0;
		while (hb < 63 && (def >> hb))
			hb++;
		uint64_t tries[4] = { def, 0, def | (1ULL << hb), ~0ULL };
		for (int t = 0; t < 4; t++) {
			uint64_t back = 0;
			if (fresh(vm, PSCI_0_2))
				continue;
			int e = set_reg64(vm->vcpu[0], BMAP_REG(r), tries[t]);
			get_reg64(vm->vcpu[0], BMAP_REG(r), &back);
			j_begin("bmap_set");
			j_str("id", idstr(BMAP_REG(r)));
			j_hex("default", def);
			j_hex("value", tries[t]);
			j_result("result", e);
			j_hex("readback", back);
			j_end();
		}
	}
	for (int r = 1; r <= 3; r++) {
		uint64_t def;
		if (fresh(vm, PSCI_0_2) || get_reg64(vm->vcpu[0], FW_REG(r), &def))
			continue;
		for (int t = 0; t < 5; t++) {
			uint64_t val = (uint64_t)t;
			if (r == 2 && t == 4)
				val = 0x12; /* AVAIL | ENABLED */
			int e = set_reg64(vm->vcpu[0], FW_REG(r), val);
			j_begin("fw_wa_set");
			j_str("id", idstr(FW_REG(r)));
			j_hex("default", def);
			j_hex("value", val);
			j_result("result", e);
			j_end();
		}
	}
}

static const struct { const char *name; uint64_t id; } TIMERS[] = {
	{ "KVM_REG_ARM_TIMER_CTL", KVM_REG_ARM_TIMER_CTL },
	{ "KVM_REG_ARM_TIMER_CNT", KVM_REG_ARM_TIMER_CNT },
	{ "KVM_REG_ARM_TIMER_CVAL", KVM_REG_ARM_TIMER_CVAL },
	{ "KVM_REG_ARM_PTIMER_CTL", KVM_REG_ARM_PTIMER_CTL },
	{ "KVM_REG_ARM_PTIMER_CNT", KVM_REG_ARM_PTIMER_CNT },
	{ "KVM_REG_ARM_PTIMER_CVAL", KVM_REG_ARM_PTIMER_CVAL },
};

/* A counter write "takes" if the counter moved by about the amount written (2^32 ticks). */
static void counter_write(struct vm *vm, const char *setup, uint64_t id)
{
	uint64_t c0 = 0, c1 = 0;
	int g0 = get_reg64(vm->vcpu[0], id, &c0);
	int s = set_reg64(vm->vcpu[0], id, c0 + (1ULL << 32));
	int g1 = get_reg64(vm->vcpu[0], id, &c1);
	j_begin("counter_write");
	j_str("setup", setup);
	j_str("id", idstr(id));
	j_result("get", g0);
	j_result("result", s);
	j_result("getAfter", g1);
	if (g0 == 0 && g1 == 0)
		j_int("effective", (c1 - c0) >= (1ULL << 31) && (c1 - c0) < (3ULL << 31));
	j_end();
}

static void timers(struct vm *vm)
{
	if (fresh(vm, PSCI_0_2))
		return;
	for (size_t i = 0; i < sizeof(TIMERS) / sizeof(TIMERS[0]); i++) {
		uint64_t v = 0;
		int g = get_reg64(vm->vcpu[0], TIMERS[i].id, &v);
		int s = set_reg64(vm->vcpu[0], TIMERS[i].id, v);
		j_begin("timer_reg");
		j_str("name", TIMERS[i].name);
		j_str("id", idstr(TIMERS[i].id));
		j_result("get", g);
		j_result("set", s);
		j_end();
	}
	counter_write(vm, "no-offset", KVM_REG_ARM_TIMER_CNT);
	counter_write(vm, "no-offset", KVM_REG_ARM_PTIMER_CNT);
	/* KVM_ARM_SET_COUNTER_OFFSET (6.4): later CNT writes are ignored (api.rst 4.138). */
	vm_close(vm);
	if (vm_create(vm))
		return;
	int e = set_counter_offset(vm, 0, 0);
	int bad = set_counter_offset(vm, 0, 1);
	int vi = vcpu_init(vm, 0, PSCI_0_2);
	int after = set_counter_offset(vm, 0x1000, 0);
	j_begin("counter_offset");
	j_result("result", e);
	j_result("reservedNonZero", bad);
	j_result("afterVcpu", after);
	j_end();
	if (e == 0 && vi == 0) {
		counter_write(vm, "after-offset", KVM_REG_ARM_TIMER_CNT);
		counter_write(vm, "after-offset", KVM_REG_ARM_PTIMER_CNT);
	}
}

/* SET_ONE_REG of ids the kernel does not list, and of listed ids with another value. */
static void rejections(struct vm *vm)
{
	static const struct { const char *what; uint64_t id; } UNKNOWN[] = {
		{ "sysreg S3_2_C15_C15_7 (unallocated)", ARM64_SYSREG(3, 2, 15, 15, 7) },
		{ "sysreg S3_0_C2_C0_3 (TCR2_EL1)", ARM64_SYSREG(3, 0, 2, 0, 3) },
		{ "sysreg S3_0_C10_C2_4 (POR_EL1)", ARM64_SYSREG(3, 0, 10, 2, 4) },
		{ "sysreg S3_3_C10_C2_4 (POR_EL0)", ARM64_SYSREG(3, 3, 10, 2, 4) },
		{ "sysreg S3_0_C10_C2_2 (PIRE0_EL1)", ARM64_SYSREG(3, 0, 10, 2, 2) },
		{ "sysreg S3_0_C1_C0_3 (SCTLR2_EL1)", ARM64_SYSREG(3, 0, 1, 0, 3) },
		{ "KVM_REG_ARM_FW_REG(7)", FW_REG(7) },
		{ "KVM_REG_ARM_FW_FEAT_BMAP_REG(7)", BMAP_REG(7) },
		{ "coproc 0x0017", 0x6030000000170000ULL },
		{ "core offset 0x1000", 0x6030000000101000ULL },
		{ "CCSIDR demux csselr 0xff", 0x60200000001100ffULL },
		{ "MIDR_EL1 as U32", 0x602000000013c000ULL },
	};
	if (fresh(vm, PSCI_0_2))
		return;
	int fd = vm->vcpu[0];
	for (size_t i = 0; i < sizeof(UNKNOWN) / sizeof(UNKNOWN[0]); i++) {
		uint64_t v = 0;
		int g = get_reg64(fd, UNKNOWN[i].id, &v);
		int s = set_reg64(fd, UNKNOWN[i].id, 0);
		j_begin("unlisted_reg");
		j_str("what", UNKNOWN[i].what);
		j_str("id", idstr(UNKNOWN[i].id));
		j_result("get", g);
		j_result("result", s);
		j_end();
	}
	/* Changed values of invariant-ish registers (same vCPU; failures change nothing). */
	static const struct { const char *name; uint64_t id; uint64_t xor; } CHANGE[] = {
		{ "MIDR_EL1 Revision+1", ARM64_SYSREG(3, 0, 0, 0, 0), 0x1 },
		{ "REVIDR_EL1 bit0", ARM64_SYSREG(3, 0, 0, 0, 6), 0x1 },
		{ "AIDR_EL1 bit0", ARM64_SYSREG(3, 1, 0, 0, 7), 0x1 },
		{ "MPIDR_EL1 Aff0 bit0", ARM64_SYSREG(3, 0, 0, 0, 5), 0x1 },
		{ "CTR_EL0 DminLine bit0", ARM64_SYSREG(3, 3, 0, 0, 1), 0x10000 },
		{ "CLIDR_EL1 LoUIS bit0", ARM64_SYSREG(3, 1, 0, 0, 1), 1ULL << 21 },
		{ "CLIDR_EL1 LoC bit0", ARM64_SYSREG(3, 1, 0, 0, 1), 1ULL << 24 },
		{ "ID_AA64PFR0_EL1 EL0 bit0", ARM64_SYSREG(3, 0, 0, 4, 0), 0x1 },
		{ "ID_AA64ISAR0_EL1 AES bit1", ARM64_SYSREG(3, 0, 0, 6, 0), 0x20 },
		{ "ID_AA64MMFR0_EL1 PARange bit0", ARM64_SYSREG(3, 0, 0, 7, 0), 0x1 },
	};
	for (size_t i = 0; i < sizeof(CHANGE) / sizeof(CHANGE[0]); i++) {
		uint64_t v = 0, back = 0;
		int g = get_reg64(fd, CHANGE[i].id, &v);
		int s = g ? g : set_reg64(fd, CHANGE[i].id, v ^ CHANGE[i].xor);
		get_reg64(fd, CHANGE[i].id, &back);
		j_begin("changed_reg");
		j_str("what", CHANGE[i].name);
		j_str("id", idstr(CHANGE[i].id));
		j_hex("value", v);
		j_hex("written", v ^ CHANGE[i].xor);
		j_result("result", s);
		j_hex("readback", back);
		j_end();
		if (s == 0)
			set_reg64(fd, CHANGE[i].id, v);
	}
	/* CCSIDR demux (KVM_REG_ARM_DEMUX_ID_CCSIDR): the same value, then LineSize bit 0 flipped. */
	for (uint64_t csselr = 0; csselr < 16; csselr++) {
		uint64_t id = 0x6020000000110000ULL | csselr, v = 0, back = 0;
		if (get_reg64(fd, id, &v))
			continue;
		int same = set_reg64(fd, id, v);
		int s = set_reg64(fd, id, v ^ 1);
		get_reg64(fd, id, &back);
		j_begin("ccsidr_set");
		j_str("id", idstr(id));
		j_hex("value", v);
		j_result("same", same);
		j_hex("written", v ^ 1);
		j_result("result", s);
		j_hex("readback", back);
		j_end();
		if (s == 0)
			set_reg64(fd, id, v);
	}
}

/*
 * Guest-visible firmware, from inside a guest: HVC calls and their returned x0 (SMCCC v1.1+
 * function ids, DEN0028 / DEN0022). Then what changes once a vCPU has run.
 */
static const struct { const char *name; uint64_t fn, arg; } CALLS[] = {
	{ "PSCI_VERSION", 0x84000000, 0 },
	{ "SMCCC_VERSION", 0x80000000, 0 },
	{ "SMCCC_ARCH_FEATURES(SMCCC_ARCH_WORKAROUND_1)", 0x80000001, 0x80008000 },
	{ "SMCCC_ARCH_FEATURES(SMCCC_ARCH_WORKAROUND_2)", 0x80000001, 0x80007fff },
	{ "SMCCC_ARCH_FEATURES(SMCCC_ARCH_WORKAROUND_3)", 0x80000001, 0x80003fff },
	{ "PSCI_FEATURES(SYSTEM_OFF2_64)", 0x8400000a, 0xc4000015 },
	{ "PSCI_FEATURES(SYSTEM_SUSPEND_64)", 0x8400000a, 0xc400000e },
	{ "PSCI_FEATURES(CPU_FREEZE)", 0x8400000a, 0x8400000b },
	{ "SMCCC_TRNG_VERSION", 0x84000050, 0 },
	{ "KVM_VENDOR_HYP_UID", 0x8600ff01, 0 },
	{ "KVM_VENDOR_HYP_FEATURES", 0x86000000, 0 },
};

static void guest_calls(struct vm *vm)
{
	for (int psci = 0; psci <= 1; psci++) {
		const char *set = psci ? "psci-0.2" : "plain";
		int e = fresh(vm, psci ? PSCI_0_2 : 0);
		if (!e)
			e = gic_setup_any(vm);
		if (e) {
			j_begin("guest_call");
			j_str("set", set);
			j_str("setup", errname(e));
			j_end();
			continue;
		}
		for (size_t i = 0; i < sizeof(CALLS) / sizeof(CALLS[0]); i++) {
			struct run_result rr;
			int r = vcpu_run_hvc(vm, 0, CALLS[i].fn, CALLS[i].arg, &rr);
			j_begin("guest_call");
			j_str("set", set);
			j_str("name", CALLS[i].name);
			j_hex("fn", CALLS[i].fn);
			j_result("result", r);
			if (r == 0) {
				j_int("exitReason", rr.exit_reason);
				if (rr.exit_reason == KVM_EXIT_MMIO)
					j_hex("x0", rr.x0);
			}
			j_end();
		}
	}
}

/*
 * The vGIC as the guest sees it: 32-bit MMIO reads (and write-then-read for IGROUPR) from a stub
 * guest, on the default revision and after a userspace IIDR write of each accepted revision.
 * QEMU virt's frames: distributor 0x08000000; GICv3 redistributor RD_base 0x080a0000 (SGI_base
 * +64 KiB); GICv2 CPU interface 0x08010000.
 */
static const struct { const char *name; int version; uint64_t addr; int write; uint32_t value; } GUEST_GIC[] = {
	{ "GICD_IIDR", 3, 0x08000008, 0, 0 },
	{ "GICD_TYPER", 3, 0x08000004, 0, 0 },
	{ "GICR_CTLR", 3, 0x080a0000, 0, 0 },
	{ "GICR_IIDR", 3, 0x080a0004, 0, 0 },
	{ "GICD_IGROUPR1 write 0", 3, 0x08000084, 1, 0x0 },
	{ "GICR_IGROUPR0 write 0", 3, 0x080b0080, 1, 0x0 },
	{ "GICD_IIDR", 2, 0x08000008, 0, 0 },
	{ "GICD_TYPER", 2, 0x08000004, 0, 0 },
	{ "GICD_IGROUPR1 write 1s", 2, 0x08000084, 1, 0xffffffff },
	{ "GICC_IIDR", 2, 0x080100fc, 0, 0 },
};

static void guest_gic(struct vm *vm)
{
	for (int rev = 0; rev <= 3; rev++) {
		if (rev == 1)
			continue; /* rejected everywhere: nothing to observe */
		int e = fresh(vm, PSCI_0_2);
		if (!e)
			e = gic_setup_any(vm);
		int version = vm->gic_version;
		int w = 0;
		if (!e && rev) {
			uint64_t iidr = 0;
			gic_get(vm, D, 0x8, &iidr);
			w = gic_set(vm, D, 0x8, (iidr & ~0xf000ULL) | ((uint64_t)rev << 12));
		}
		for (size_t i = 0; i < sizeof(GUEST_GIC) / sizeof(GUEST_GIC[0]); i++) {
			if (!e && GUEST_GIC[i].version != version)
				continue;
			struct run_result rr;
			int r = e ? e
				  : vcpu_run_mmio(vm, 0, GUEST_GIC[i].addr, GUEST_GIC[i].write,
						  GUEST_GIC[i].value, &rr);
			j_begin("guest_gic");
			j_int("version", e ? 0 : version);
			j_str("iidr", rev ? (rev == 2 ? "rev2 written" : "rev3 written") : "default");
			j_str("name", GUEST_GIC[i].name);
			if (rev)
				j_result("iidrWrite", w);
			j_result("result", r);
			if (r == 0) {
				j_int("exitReason", rr.exit_reason);
				if (rr.exit_reason == KVM_EXIT_MMIO)
					j_hex("value", rr.x0);
			}
			j_end();
			if (e)
				break;
		}
	}
}

/* What userspace may still change after the first KVM_RUN. */
static void after_run(struct vm *vm)
{
	int e = fresh(vm, PSCI_0_2);
	if (!e)
		e = gic_setup_any(vm);
	if (e)
		return;
	int fd = vm->vcpu[0];
	uint64_t pfr0 = 0, bmap = 0, psci = 0, iidr = 0;
	get_reg64(fd, ARM64_SYSREG(3, 0, 0, 4, 0), &pfr0);
	get_reg64(fd, BMAP_REG(0), &bmap);
	get_reg64(fd, FW_REG(0), &psci);
	gic_get(vm, D, 0x8, &iidr);
	struct run_result rr;
	int r = vcpu_run_hvc(vm, 0, 0x84000000, 0, &rr);
	/* CSV2 (bits 59:56) lowered to 0, if it is not 0: accepted before the run on 5.11+ */
	uint64_t pfr0_low = pfr0 & ~(0xfULL << 56);
	/* Asked in this order, one after the other (an initializer list would not fix the order). */
	struct { const char *what; int e; } res[7];
	res[0].what = "ID_AA64PFR0_EL1 same value";
	res[0].e = set_reg64(fd, ARM64_SYSREG(3, 0, 0, 4, 0), pfr0);
	res[1].what = "ID_AA64PFR0_EL1 CSV2=0";
	res[1].e = pfr0_low == pfr0 ? -2 : set_reg64(fd, ARM64_SYSREG(3, 0, 0, 4, 0), pfr0_low);
	res[2].what = "KVM_REG_ARM_STD_BMAP same value";
	res[2].e = set_reg64(fd, BMAP_REG(0), bmap);
	res[3].what = "KVM_REG_ARM_STD_BMAP zero";
	res[3].e = bmap == 0 ? -2 : set_reg64(fd, BMAP_REG(0), 0);
	res[4].what = "KVM_REG_ARM_PSCI_VERSION same value";
	res[4].e = set_reg64(fd, FW_REG(0), psci);
	res[5].what = "KVM_REG_ARM_PSCI_VERSION 1.0";
	res[5].e = set_reg64(fd, FW_REG(0), 0x10000);
	res[6].what = "GICD_IIDR same value";
	res[6].e = gic_set(vm, D, 0x8, iidr);
	j_begin("after_run");
	j_result("run", r);
	j_int("exitReason", r == 0 ? rr.exit_reason : -1);
	j_end();
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		j_begin("after_run_set");
		j_str("what", res[i].what);
		j_str("result", res[i].e == -2 ? "not-applicable" : errname(res[i].e));
		j_end();
	}
}

int capture(void)
{
	struct vm vm;
	vm_empty(&vm);
	header();
	caps(&vm);
	regsets(&vm);
	sve_vls_restrict(&vm);
	masks(&vm);
	idreg_fields(&vm, "psci-0.2", PSCI_0_2);
	idreg_fields(&vm, "pmu-v3", PSCI_0_2 | (1u << KVM_ARM_VCPU_PMU_V3));
	gic_defaults(&vm, 3);
	gic_defaults(&vm, 2);
	iidr_v3(&vm);
	igroupr_v2(&vm);
	firmware(&vm);
	timers(&vm);
	rejections(&vm);
	guest_calls(&vm);
	guest_gic(&vm);
	after_run(&vm);
	vm_close(&vm);
	j_begin("done");
	j_end();
	return 0;
}
