/* hostprobe: restore plans (format: hostprobe/PLAN.md). */
#ifndef HOSTPROBE_PLAN_H
#define HOSTPROBE_PLAN_H

#include <stddef.h>
#include <stdint.h>

enum op_kind {
	OP_VM, OP_ENABLE_CAP, OP_VCPU_INIT, OP_FINALIZE, OP_SET_ONE_REG, OP_GET_ONE_REG,
	OP_CREATE_VGIC, OP_SET_DEVICE_ATTR, OP_GET_DEVICE_ATTR, OP_VGIC_INIT,
	OP_SET_COUNTER_OFFSET, OP_WRITABLE_MASKS, OP_RUN, OP_GUEST_READ32, OP_GUEST_WRITE32,
};

struct op {
	enum op_kind kind;
	int line;
	int vcpu;
	int nargs;          /* enable_cap args; set_device_attr: 1 if a value was given */
	uint64_t a, b;      /* id/attr/offset/fn, value/reserved/arg */
	uint64_t args[4];
	uint32_t group;
	uint8_t *value;     /* set_one_reg: little-endian, reg_size(a) bytes */
};

struct plan {
	struct op *ops;
	size_t n;
};

/* Parse the whole plan; on error writes "line N: why" into err and returns -1. */
int plan_parse(const char *text, struct plan *p, char *err, size_t errlen);
/* Perform every operation, printing one JSON line each. */
void plan_replay(const struct plan *p);

#endif
