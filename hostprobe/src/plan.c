/*
 * hostprobe replay: parse a restore plan completely (nothing runs if any line is malformed), then
 * perform each operation with the real ioctls and print its real result, never stopping early.
 */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm.h"
#include "out.h"

#define MAX_LINE 1100
#define MAX_OPS 100000
#define MAX_TOKENS 8

/* Operation name, ioctl reported, and argument count range (after the name). */
static const struct {
	const char *name;
	enum op_kind kind;
	const char *ioctl;
	int min, max;
} OPS[] = {
	{ "vm", OP_VM, "KVM_CREATE_VM", 0, 0 },
	{ "enable_cap", OP_ENABLE_CAP, "KVM_ENABLE_CAP", 1, 5 },
	{ "vcpu_init", OP_VCPU_INIT, "KVM_ARM_VCPU_INIT", 2, 2 },
	{ "finalize", OP_FINALIZE, "KVM_ARM_VCPU_FINALIZE", 2, 2 },
	{ "set_one_reg", OP_SET_ONE_REG, "KVM_SET_ONE_REG", 3, 3 },
	{ "get_one_reg", OP_GET_ONE_REG, "KVM_GET_ONE_REG", 2, 2 },
	{ "create_vgic", OP_CREATE_VGIC, "KVM_CREATE_DEVICE", 1, 1 },
	{ "set_device_attr", OP_SET_DEVICE_ATTR, "KVM_SET_DEVICE_ATTR", 2, 3 },
	{ "get_device_attr", OP_GET_DEVICE_ATTR, "KVM_GET_DEVICE_ATTR", 2, 2 },
	{ "vgic_init", OP_VGIC_INIT, "KVM_SET_DEVICE_ATTR", 0, 0 },
	{ "set_counter_offset", OP_SET_COUNTER_OFFSET, "KVM_ARM_SET_COUNTER_OFFSET", 1, 2 },
	{ "writable_masks", OP_WRITABLE_MASKS, "KVM_ARM_GET_REG_WRITABLE_MASKS", 0, 0 },
	{ "run", OP_RUN, "KVM_RUN", 2, 3 },
	{ "guest_read32", OP_GUEST_READ32, "KVM_RUN", 2, 2 },
	{ "guest_write32", OP_GUEST_WRITE32, "KVM_RUN", 3, 3 },
};
#define NOPS (sizeof(OPS) / sizeof(OPS[0]))

/* Result code for an operation whose VM, vCPU or device does not exist. */
#define ESKIPPED (-1)

static int fail(char *err, size_t errlen, int line, const char *fmt, const char *tok)
{
	char why[200];
	snprintf(why, sizeof(why), fmt, tok);
	snprintf(err, errlen, "line %d: %s", line, why);
	return -1;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex (optional 0x) into little-endian bytes[n]; -1 if not hex or too wide for n bytes. */
static int parse_hex_bytes(const char *t, uint8_t *out, size_t n)
{
	if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))
		t += 2;
	size_t len = strlen(t);
	if (len == 0)
		return -1;
	while (len > 1 && *t == '0') {
		t++;
		len--;
	}
	if (len > 2 * n)
		return -1;
	memset(out, 0, n);
	for (size_t i = 0; i < len; i++) {
		int d = hexdigit(t[len - 1 - i]);
		if (d < 0)
			return -1;
		out[i / 2] |= (uint8_t)(d << (4 * (i % 2)));
	}
	return 0;
}

static int parse_u64(const char *t, uint64_t *v)
{
	uint8_t b[8];
	if (parse_hex_bytes(t, b, 8))
		return -1;
	memcpy(v, b, 8);
	return 0;
}

static int parse_dec(const char *t, long max, long *v)
{
	if (!*t)
		return -1;
	long n = 0;
	for (; *t; t++) {
		if (*t < '0' || *t > '9')
			return -1;
		n = n * 10 + (*t - '0');
		if (n > max)
			return -1;
	}
	*v = n;
	return 0;
}

static int parse_line(char *s, int line, struct op *o, char *err, size_t errlen)
{
	char *tok[MAX_TOKENS + 1];
	int nt = 0;
	for (char *p = strtok(s, " \t"); p; p = strtok(NULL, " \t")) {
		if (nt == MAX_TOKENS)
			return fail(err, errlen, line, "more than %s fields", "8");
		tok[nt++] = p;
	}
	size_t k;
	for (k = 0; k < NOPS; k++)
		if (strcmp(tok[0], OPS[k].name) == 0)
			break;
	if (k == NOPS)
		return fail(err, errlen, line, "unknown operation '%s'", tok[0]);
	int nargs = nt - 1;
	if (nargs < OPS[k].min || nargs > OPS[k].max)
		return fail(err, errlen, line, "wrong number of fields for '%s'", tok[0]);
	memset(o, 0, sizeof(*o));
	o->kind = OPS[k].kind;
	o->line = line;
	long d;
	switch (o->kind) {
	case OP_VM:
	case OP_VGIC_INIT:
	case OP_WRITABLE_MASKS:
		break;
	case OP_ENABLE_CAP:
		if (parse_dec(tok[1], 0xffff, &d))
			return fail(err, errlen, line, "capability '%s' is not a decimal number", tok[1]);
		o->a = (uint64_t)d;
		o->nargs = nargs - 1;
		for (int i = 0; i < o->nargs; i++)
			if (parse_u64(tok[2 + i], &o->args[i]))
				return fail(err, errlen, line, "argument '%s' is not a 64-bit hex number", tok[2 + i]);
		break;
	case OP_VCPU_INIT:
	case OP_FINALIZE:
	case OP_SET_ONE_REG:
	case OP_GET_ONE_REG:
	case OP_RUN:
	case OP_GUEST_READ32:
	case OP_GUEST_WRITE32:
		if (parse_dec(tok[1], MAX_VCPUS - 1, &d))
			return fail(err, errlen, line, "vcpu '%s' is not a decimal number below 64", tok[1]);
		o->vcpu = (int)d;
		if (o->kind == OP_FINALIZE) {
			if (parse_dec(tok[2], 31, &d))
				return fail(err, errlen, line, "feature '%s' is not a decimal number below 32", tok[2]);
			o->a = (uint64_t)d;
		} else if (parse_u64(tok[2], &o->a)) {
			return fail(err, errlen, line, "'%s' is not a 64-bit hex number", tok[2]);
		}
		if (o->kind == OP_VCPU_INIT && o->a > 0xffffffffULL)
			return fail(err, errlen, line, "features '%s' do not fit features[0] (32 bits)", tok[2]);
		if (o->kind == OP_SET_ONE_REG) {
			size_t n = reg_size(o->a);
			if (n > 256)
				return fail(err, errlen, line, "register id '%s' has a size above 2048 bits", tok[2]);
			o->value = malloc(n);
			if (!o->value)
				return fail(err, errlen, line, "%s", "out of memory");
			if (parse_hex_bytes(tok[3], o->value, n))
				return fail(err, errlen, line, "value '%s' is not hex or is wider than the register", tok[3]);
		}
		if (o->kind == OP_RUN && nargs == 3 && parse_u64(tok[3], &o->b))
			return fail(err, errlen, line, "argument '%s' is not a 64-bit hex number", tok[3]);
		if (o->kind == OP_GUEST_WRITE32 && (parse_u64(tok[3], &o->b) || o->b > 0xffffffffULL))
			return fail(err, errlen, line, "value '%s' is not a 32-bit hex number", tok[3]);
		break;
	case OP_CREATE_VGIC:
		if (strcmp(tok[1], "v3") == 0)
			o->a = 3;
		else if (strcmp(tok[1], "v2") == 0)
			o->a = 2;
		else
			return fail(err, errlen, line, "vGIC version '%s' is not v3 or v2", tok[1]);
		break;
	case OP_SET_DEVICE_ATTR:
	case OP_GET_DEVICE_ATTR:
		if (parse_dec(tok[1], 0xffffffffL, &d))
			return fail(err, errlen, line, "group '%s' is not a decimal number", tok[1]);
		o->group = (uint32_t)d;
		if (parse_u64(tok[2], &o->a))
			return fail(err, errlen, line, "attribute '%s' is not a 64-bit hex number", tok[2]);
		if (nargs == 3) {
			if (parse_u64(tok[3], &o->b))
				return fail(err, errlen, line, "value '%s' is not a 64-bit hex number", tok[3]);
			if (gic_attr_width(o->group) == 4 && o->b > 0xffffffffULL)
				return fail(err, errlen, line, "value '%s' does not fit this group's 32 bits", tok[3]);
			o->nargs = 1;
		}
		break;
	case OP_SET_COUNTER_OFFSET:
		if (parse_u64(tok[1], &o->a))
			return fail(err, errlen, line, "offset '%s' is not a 64-bit hex number", tok[1]);
		if (nargs == 2 && parse_u64(tok[2], &o->b))
			return fail(err, errlen, line, "reserved '%s' is not a 64-bit hex number", tok[2]);
		break;
	}
	return 0;
}

int plan_parse(const char *text, struct plan *p, char *err, size_t errlen)
{
	p->ops = NULL;
	p->n = 0;
	size_t cap = 0;
	int line = 0;
	const char *s = text;
	while (*s) {
		line++;
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (len > MAX_LINE)
			return fail(err, errlen, line, "line longer than %s characters", "1100");
		char buf[MAX_LINE + 1];
		memcpy(buf, s, len);
		buf[len] = 0;
		s = nl ? nl + 1 : s + len;
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = 0;
		for (char *c = buf; *c; c++) {
			if (*c == '\r')
				*c = ' ';
			else if ((unsigned char)*c < 0x20 && *c != '\t')
				return fail(err, errlen, line, "control character in line%s", "");
		}
		char *t = buf;
		while (*t == ' ' || *t == '\t')
			t++;
		if (!*t)
			continue;
		if (p->n == MAX_OPS)
			return fail(err, errlen, line, "more than %s operations", "100000");
		if (p->n == cap) {
			cap = cap ? cap * 2 : 256;
			struct op *ops = realloc(p->ops, cap * sizeof(*ops));
			if (!ops)
				return fail(err, errlen, line, "%s", "out of memory");
			p->ops = ops;
		}
		if (parse_line(t, line, &p->ops[p->n], err, errlen))
			return -1;
		p->n++;
	}
	return 0;
}

static int have_vcpu(struct vm *vm, int i) { return vm->fd >= 0 && vm->vcpu[i] >= 0; }

/* Groups whose registers KVM_GET_DEVICE_ATTR can read back after a set. */
static int readable_group(uint32_t g)
{
	return g != KVM_DEV_ARM_VGIC_GRP_CTRL;
}

static void result(int e)
{
	if (e == ESKIPPED) {
		j_str("result", "ESKIPPED");
		j_int("errno", -1);
	} else {
		j_result("result", e);
	}
}

void plan_replay(const struct plan *p)
{
	struct vm vm;
	vm_empty(&vm);
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];
		size_t k;
		for (k = 0; k < NOPS && OPS[k].kind != o->kind; k++)
			;
		j_begin("op");
		j_int("index", (long long)i);
		j_int("line", o->line);
		j_str("op", OPS[k].name);
		int e = 0;
		if (o->kind != OP_VM && vm.fd < 0) {
			/* implicit VM; its failure is this operation's failure */
			e = vm_create(&vm);
			if (e) {
				vm.fd = -1;
				j_str("ioctl", "KVM_CREATE_VM");
				result(e);
				j_end();
				continue;
			}
		}
		const char *ioctl_name = OPS[k].ioctl;
		uint8_t buf[256];
		uint64_t v = 0;
		struct run_result rr;
		switch (o->kind) {
		case OP_VM:
			vm_close(&vm);
			e = vm_create(&vm);
			if (e)
				vm.fd = -1;
			j_str("ioctl", ioctl_name);
			result(e);
			break;
		case OP_ENABLE_CAP:
			e = vm_enable_cap(&vm, (uint32_t)o->a, o->args, o->nargs);
			j_str("ioctl", ioctl_name);
			j_int("cap", (long long)o->a);
			result(e);
			break;
		case OP_VCPU_INIT:
			e = vcpu_create(&vm, o->vcpu);
			if (e) {
				ioctl_name = "KVM_CREATE_VCPU";
			} else {
				e = vcpu_init(&vm, o->vcpu, (uint32_t)o->a);
			}
			j_str("ioctl", ioctl_name);
			j_int("vcpu", o->vcpu);
			j_hex("value", o->a);
			result(e);
			break;
		case OP_FINALIZE:
			e = have_vcpu(&vm, o->vcpu) ? vcpu_finalize(&vm, o->vcpu, (int)o->a) : ESKIPPED;
			j_str("ioctl", ioctl_name);
			j_int("vcpu", o->vcpu);
			j_hex("value", o->a);
			result(e);
			break;
		case OP_SET_ONE_REG:
			e = have_vcpu(&vm, o->vcpu) ? set_reg(vm.vcpu[o->vcpu], o->a, o->value) : ESKIPPED;
			j_str("ioctl", ioctl_name);
			j_int("vcpu", o->vcpu);
			{
				char id[24];
				snprintf(id, sizeof(id), "0x%016llx", (unsigned long long)o->a);
				j_str("id", id);
			}
			j_hexbytes("value", o->value, reg_size(o->a));
			result(e);
			if (e == 0) {
				memset(buf, 0, sizeof(buf));
				int r = get_reg(vm.vcpu[o->vcpu], o->a, buf);
				if (r == 0)
					j_hexbytes("readback", buf, reg_size(o->a));
				j_result("readbackResult", r);
			}
			break;
		case OP_GET_ONE_REG:
			memset(buf, 0, sizeof(buf));
			e = !have_vcpu(&vm, o->vcpu) ? ESKIPPED
			    : reg_size(o->a) > 256   ? E2BIG
						     : get_reg(vm.vcpu[o->vcpu], o->a, buf);
			j_str("ioctl", ioctl_name);
			j_int("vcpu", o->vcpu);
			{
				char id[24];
				snprintf(id, sizeof(id), "0x%016llx", (unsigned long long)o->a);
				j_str("id", id);
			}
			if (e == 0)
				j_hexbytes("value", buf, reg_size(o->a));
			result(e);
			break;
		case OP_CREATE_VGIC:
			e = vm.gic >= 0 ? EEXIST : gic_create(&vm, (int)o->a);
			j_str("ioctl", ioctl_name);
			j_str("device", o->a == 3 ? "KVM_DEV_TYPE_ARM_VGIC_V3" : "KVM_DEV_TYPE_ARM_VGIC_V2");
			result(e);
			break;
		case OP_SET_DEVICE_ATTR:
		case OP_GET_DEVICE_ATTR:
		case OP_VGIC_INIT: {
			uint32_t g = o->kind == OP_VGIC_INIT ? KVM_DEV_ARM_VGIC_GRP_CTRL : o->group;
			uint64_t attr = o->kind == OP_VGIC_INIT ? KVM_DEV_ARM_VGIC_CTRL_INIT : o->a;
			if (vm.gic < 0)
				e = ESKIPPED;
			else if (o->kind == OP_GET_DEVICE_ATTR)
				e = gic_get(&vm, g, attr, &v);
			else
				e = gic_set(&vm, g, attr, o->b);
			j_str("ioctl", ioctl_name);
			j_int("group", g);
			{
				char a[24];
				snprintf(a, sizeof(a), "0x%016llx", (unsigned long long)attr);
				j_str("attr", a);
			}
			if (o->kind == OP_SET_DEVICE_ATTR && gic_attr_width(g))
				j_hex("value", o->b);
			if (o->kind == OP_GET_DEVICE_ATTR && e == 0)
				j_hex("value", v);
			result(e);
			if (o->kind == OP_SET_DEVICE_ATTR && e == 0 && readable_group(g)) {
				int r = gic_get(&vm, g, attr, &v);
				if (r == 0)
					j_hex("readback", v);
				j_result("readbackResult", r);
			}
			break;
		}
		case OP_SET_COUNTER_OFFSET:
			e = set_counter_offset(&vm, o->a, o->b);
			j_str("ioctl", ioctl_name);
			j_hex("value", o->a);
			result(e);
			break;
		case OP_WRITABLE_MASKS: {
			static uint64_t masks[KVM_ARM_FEATURE_ID_RANGE_SIZE];
			memset(masks, 0, sizeof(masks));
			e = writable_masks(&vm, masks);
			j_str("ioctl", ioctl_name);
			result(e);
			if (e == 0) {
				/* index = op1' << 6 | CRm << 3 | op2, op1' = 0, 1, 2 for op1 = 0, 1, 3
				 * (ARM64_FEATURE_ID_SPACE_IDX, arch/arm64/include/uapi/asm/kvm.h) */
				static const int OP1[3] = { 0, 1, 3 };
				struct frag f = { 0 };
				frag_add(&f, "{");
				int firstm = 1;
				for (int x = 0; x < KVM_ARM_FEATURE_ID_RANGE_SIZE; x++) {
					if (!masks[x])
						continue;
					frag_add(&f, "%s\"0x%016llx\":\"0x%llx\"", firstm ? "" : ",",
						 (unsigned long long)ARM64_SYSREG(3, OP1[x >> 6], 0, (x >> 3) & 7, x & 7),
						 (unsigned long long)masks[x]);
					firstm = 0;
				}
				frag_add(&f, "}");
				j_raw("masks", f.s);
				frag_free(&f);
			}
			break;
		}
		case OP_GUEST_READ32:
		case OP_GUEST_WRITE32:
			e = have_vcpu(&vm, o->vcpu)
				? vcpu_run_mmio(&vm, o->vcpu, o->a, o->kind == OP_GUEST_WRITE32, (uint32_t)o->b, &rr)
				: ESKIPPED;
			j_str("ioctl", ioctl_name);
			j_int("vcpu", o->vcpu);
			j_hex("addr", o->a);
			if (o->kind == OP_GUEST_WRITE32)
				j_hex("written", o->b);
			result(e);
			if (e == 0) {
				j_int("exitReason", rr.exit_reason);
				if (rr.exit_reason == KVM_EXIT_MMIO)
					j_hex("value", rr.x0);
			}
			break;
		case OP_RUN:
			e = have_vcpu(&vm, o->vcpu) ? vcpu_run_hvc(&vm, o->vcpu, o->a, o->b, &rr) : ESKIPPED;
			j_str("ioctl", ioctl_name);
			j_int("vcpu", o->vcpu);
			j_hex("fn", o->a);
			result(e);
			if (e == 0) {
				j_int("exitReason", rr.exit_reason);
				if (rr.exit_reason == KVM_EXIT_MMIO)
					j_hex("value", rr.x0);
				if (rr.exit_reason == KVM_EXIT_SYSTEM_EVENT)
					j_int("systemEvent", rr.event_type);
			}
			break;
		}
		j_end();
	}
	j_begin("done");
	j_int("ops", (long long)p->n);
	j_end();
	vm_close(&vm);
}
