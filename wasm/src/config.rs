//! Machine configuration, received as one byte blob of little-endian u64 triples
//! `(key, a, b)`. A flat record list keeps the boundary trivial (no serializer on either side)
//! and lets repeated keys express lists (RAM regions, register values). Unknown keys are an
//! error, so a host and a module that disagree fail loudly.

/// Record keys. `a` and `b` as documented; unused operands must be 0.
pub struct Key;
impl Key {
    /// a = number of vCPUs (1..=MAX_VCPUS).
    pub const NVCPUS: u64 = 1;
    /// a = base, b = size: a RAM region (4 KiB aligned).
    pub const RAM: u64 = 2;
    /// a = base, b = size: a device window nobody models; accesses stop the run.
    pub const MMIO_WINDOW: u64 = 3;
    /// a = CNTFRQ_EL0 value.
    pub const CNTFRQ: u64 = 4;
    /// a/b = physical-counter ticks per retired instruction (a ratio; default 1/1).
    pub const TICKS_PER_INSN: u64 = 5;
    /// a = instructions per vCPU per scheduling slice.
    pub const SLICE: u64 = 6;
    /// a = sysreg encoding (op0<<14|op1<<11|CRn<<7|CRm<<3|op2), b = value, for every vCPU
    /// (identification and cache registers: MIDR, ID_*, CTR, CLIDR, REVIDR, AIDR...).
    pub const SYSREG: u64 = 7;
    /// a = vCPU index, b = MPIDR_EL1.
    pub const MPIDR: u64 = 8;
    /// a = CSSELR value (Level<<1 | InD), b = CCSIDR_EL1.
    pub const CCSIDR: u64 = 9;
    /// a = DCZID_EL0.
    pub const DCZID: u64 = 10;
    /// a = PMCR_EL0.N (number of event counters reported).
    pub const PMCR_N: u64 = 11;
    /// a = 2 or 3.
    pub const GIC_MODEL: u64 = 12;
    pub const GIC_NR_IRQS: u64 = 13;
    pub const GIC_IIDR: u64 = 14;
    /// a = 0 writable, 1 RAZ/WI, 2 RAO/WI.
    pub const GIC_GROUP_MODE: u64 = 15;
    pub const GIC_V2_GROUPS_NEED_IIDR: u64 = 16;
    pub const GIC_PRI_BITS: u64 = 17;
    pub const GIC_ID_BITS: u64 = 18;
    pub const GIC_SEIS: u64 = 19;
    pub const GIC_A3V: u64 = 20;
    pub const GIC_DIST_BASE: u64 = 21;
    pub const GIC_REDIST_BASE: u64 = 22;
    pub const GIC_CPU_BASE: u64 = 23;
    /// a = vCPU index that starts powered off (KVM_ARM_VCPU_POWER_OFF).
    pub const POWER_OFF: u64 = 24;
    /// a = implemented physical address bits (default 40, as KVM's default IPA size).
    pub const PA_BITS: u64 = 25;
    /// a = firmware register id (KVM_REG_ARM_FW_REG / FW_FEAT_BMAP_REG), b = value.
    pub const FW_REG: u64 = 26;
    /// a = firmware configuration field (devices.rs `set_fw_field`), b = value.
    pub const FW_FIELD: u64 = 27;
    /// a = 1 if an EL1 `SMC #0` is answered like HVC (Linux 6.4+, the default), 0 if it returns
    /// NOT_SUPPORTED (earlier kernels).
    pub const SMC_SMCCC: u64 = 28;
    /// a = base of a PL011 UART (a 4 KiB window) whose output the host reads as the console.
    pub const UART: u64 = 29;
    /// a = 1: guest MRS of the ID registers is cut to what this emulator executes
    /// (sysreg/idsan.rs). For boards that run real guest code (`rollsafe emulate`, replay);
    /// probe machines leave it 0 so the guest reads what the target kernel presents, which is
    /// what drift and reliance compare.
    pub const ID_CAP: u64 = 30;
}

pub const MAX_VCPUS: usize = 64;

pub struct Config {
    pub nvcpus: usize,
    pub ram: Vec<(u64, u64)>,
    pub mmio_windows: Vec<(u64, u64)>,
    pub cntfrq: u64,
    pub tick_num: u64,
    pub tick_den: u64,
    pub slice: u64,
    pub sysregs: Vec<(u16, u64)>,
    pub mpidrs: Vec<(usize, u64)>,
    pub ccsidr: Vec<(usize, u64)>,
    pub dczid: u64,
    pub pmcr_n: u64,
    pub gic_model: u64,
    pub gic_nr_irqs: u32,
    pub gic_iidr: u32,
    pub gic_group_mode: u64,
    pub gic_v2_groups_need_iidr: bool,
    pub gic_pri_bits: u8,
    pub gic_id_bits: u8,
    pub gic_seis: bool,
    pub gic_a3v: bool,
    pub gic_dist_base: u64,
    pub gic_redist_base: u64,
    pub gic_cpu_base: u64,
    pub power_off: Vec<usize>,
    pub pa_bits: u32,
    pub fw_regs: Vec<(u64, u64)>,
    pub fw_fields: Vec<(u64, u64)>,
    pub smc_smccc: bool,
    pub id_cap: bool,
    pub uart: Option<u64>,
}

impl Default for Config {
    /// Defaults follow QEMU's `virt` board memory map (hw/arm/virt.c: GIC distributor at
    /// 0x0800_0000, GICv2 CPU interface at 0x0801_0000, GICv3 redistributors at 0x080A_0000) and
    /// KVM's vGICv3 (IIDR revision 3: 0x4B00_343B, PRODUCT_ID_KVM=0x4B, 5 priority bits, 16 ID bits).
    fn default() -> Self {
        Config {
            nvcpus: 1,
            ram: Vec::new(),
            mmio_windows: Vec::new(),
            cntfrq: 62_500_000,
            tick_num: 1,
            tick_den: 1,
            slice: 10_000,
            sysregs: Vec::new(),
            mpidrs: Vec::new(),
            ccsidr: Vec::new(),
            dczid: 4,
            pmcr_n: 0,
            gic_model: 3,
            gic_nr_irqs: 256,
            gic_iidr: 0x4b00_343b,
            gic_group_mode: 0,
            gic_v2_groups_need_iidr: true,
            gic_pri_bits: 5,
            gic_id_bits: 16,
            gic_seis: false,
            gic_a3v: true,
            gic_dist_base: 0x0800_0000,
            gic_redist_base: 0x080a_0000,
            gic_cpu_base: 0x0801_0000,
            power_off: Vec::new(),
            pa_bits: 40,
            fw_regs: Vec::new(),
            fw_fields: Vec::new(),
            smc_smccc: true,
            id_cap: false,
            uart: None,
        }
    }
}

/// Parse errors name the record index (negative errno at the boundary: EINVAL).
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub record: usize,
}

impl Config {
    pub fn parse(blob: &[u8]) -> Result<Config, ConfigError> {
        if blob.len() % 24 != 0 {
            return Err(ConfigError { record: blob.len() / 24 });
        }
        let mut c = Config::default();
        for (n, rec) in blob.chunks(24).enumerate() {
            let mut w = [0u64; 3];
            for (k, v) in w.iter_mut().enumerate() {
                let mut b = [0u8; 8];
                b.copy_from_slice(&rec[k * 8..k * 8 + 8]);
                *v = u64::from_le_bytes(b);
            }
            let [key, a, b] = w;
            let bad = || ConfigError { record: n };
            let small = |v: u64, max: u64| if v <= max { Ok(v) } else { Err(bad()) };
            match key {
                Key::NVCPUS => c.nvcpus = small(a, MAX_VCPUS as u64)?.max(1) as usize,
                Key::RAM => c.ram.push((a, b)),
                Key::MMIO_WINDOW => c.mmio_windows.push((a, b)),
                Key::CNTFRQ => c.cntfrq = small(a, u32::MAX as u64)?,
                Key::TICKS_PER_INSN => {
                    if a == 0 || b == 0 || a > 1 << 20 || b > 1 << 20 {
                        return Err(bad());
                    }
                    c.tick_num = a;
                    c.tick_den = b;
                }
                Key::SLICE => c.slice = small(a, 1 << 30)?.max(1),
                Key::SYSREG => c.sysregs.push((small(a, 0xffff)? as u16, b)),
                Key::MPIDR => c.mpidrs.push((small(a, MAX_VCPUS as u64 - 1)? as usize, b)),
                Key::CCSIDR => c.ccsidr.push((small(a, 15)? as usize, b)),
                Key::DCZID => c.dczid = small(a, 0x1f)?,
                Key::PMCR_N => c.pmcr_n = small(a, 31)?,
                Key::GIC_MODEL => {
                    if a != 2 && a != 3 {
                        return Err(bad());
                    }
                    c.gic_model = a;
                }
                Key::GIC_NR_IRQS => c.gic_nr_irqs = small(a, 1024)? as u32,
                Key::GIC_IIDR => c.gic_iidr = small(a, u32::MAX as u64)? as u32,
                Key::GIC_GROUP_MODE => c.gic_group_mode = small(a, 2)?,
                Key::GIC_V2_GROUPS_NEED_IIDR => c.gic_v2_groups_need_iidr = small(a, 1)? == 1,
                Key::GIC_PRI_BITS => c.gic_pri_bits = small(a, 8)? as u8,
                Key::GIC_ID_BITS => c.gic_id_bits = small(a, 32)? as u8,
                Key::GIC_SEIS => c.gic_seis = small(a, 1)? == 1,
                Key::GIC_A3V => c.gic_a3v = small(a, 1)? == 1,
                Key::GIC_DIST_BASE => c.gic_dist_base = a,
                Key::GIC_REDIST_BASE => c.gic_redist_base = a,
                Key::GIC_CPU_BASE => c.gic_cpu_base = a,
                Key::POWER_OFF => c.power_off.push(small(a, MAX_VCPUS as u64 - 1)? as usize),
                Key::PA_BITS => c.pa_bits = small(a, 52)?.max(32) as u32,
                Key::FW_REG => c.fw_regs.push((a, b)),
                Key::FW_FIELD => c.fw_fields.push((small(a, 18)?, b)),
                Key::SMC_SMCCC => c.smc_smccc = small(a, 1)? == 1,
                Key::ID_CAP => c.id_cap = small(a, 1)? == 1,
                Key::UART => {
                    if a & 0xfff != 0 {
                        return Err(bad());
                    }
                    c.uart = Some(a);
                }
                _ => return Err(bad()),
            }
        }
        Ok(c)
    }
}
