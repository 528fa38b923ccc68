//! Bit helpers shared by decode and execute, named after the ARM ARM pseudocode functions
//! (DDI0487, J1 "Shared pseudocode").

/// `SignExtend(x<bits-1:0>, 64)`.
#[inline(always)]
pub fn sext(x: u64, bits: u32) -> u64 {
    let s = 64 - bits;
    (((x << s) as i64) >> s) as u64
}

/// `Ones(n)` for 0 <= n <= 64.
#[inline(always)]
pub fn ones(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// `ROR(x, r)` on an `esize`-bit element held in the low bits of `x`.
#[inline(always)]
pub fn ror_e(x: u64, r: u32, esize: u32) -> u64 {
    if r == 0 {
        return x;
    }
    let m = ones(esize);
    ((x >> r) | (x << (esize - r))) & m
}

/// `Replicate(x<esize-1:0>)` to 64 bits.
#[inline(always)]
pub fn replicate(x: u64, esize: u32) -> u64 {
    let mut v = x & ones(esize);
    let mut e = esize;
    while e < 64 {
        v |= v << e;
        e *= 2;
    }
    v
}

/// `DecodeBitMasks(N, imms, immr, immediate)` (ARM ARM J1.1.3, aarch64/instrs/integer/bitmasks):
/// returns `(wmask, tmask)` for a `datasize`-bit operation, or `None` for the reserved encodings
/// that make the instruction UNDEFINED.
pub fn decode_bit_masks(n: u32, imms: u32, immr: u32, immediate: bool, datasize: u32) -> Option<(u64, u64)> {
    // len = HighestSetBit(N:NOT(imms)); len < 1 is reserved.
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    if len < 1 {
        return None;
    }
    let esize = 1u32 << len;
    if esize > datasize {
        return None;
    }
    let levels = esize - 1;
    // For logical immediates an all-ones element is reserved.
    if immediate && (imms & levels) == levels {
        return None;
    }
    let s = imms & levels;
    let r = immr & levels;
    let diff = s.wrapping_sub(r) & levels;
    let welem = ones(s + 1);
    let telem = ones(diff + 1);
    let wmask = replicate(ror_e(welem, r, esize), esize) & ones(datasize);
    let tmask = replicate(telem, esize) & ones(datasize);
    Some((wmask, tmask))
}

/// The 16 condition codes of `ConditionHolds()` (ARM ARM C1.2.4) as a truth table: bit `nzcv` of
/// `COND_TABLE[cond]` says whether `cond` holds for flags `nzcv` (N=8, Z=4, C=2, V=1).
pub const COND_TABLE: [u16; 16] = build_cond_table();

const fn build_cond_table() -> [u16; 16] {
    let mut t = [0u16; 16];
    let mut cond = 0;
    while cond < 16 {
        let mut f = 0;
        while f < 16 {
            let n = f & 8 != 0;
            let z = f & 4 != 0;
            let c = f & 2 != 0;
            let v = f & 1 != 0;
            let base = match cond >> 1 {
                0 => z,             // EQ / NE
                1 => c,             // CS / CC
                2 => n,             // MI / PL
                3 => v,             // VS / VC
                4 => c && !z,       // HI / LS
                5 => n == v,        // GE / LT
                6 => n == v && !z,  // GT / LE
                _ => true,          // AL / NV (both always hold)
            };
            let holds = if cond & 1 == 1 && cond != 15 { !base } else { base };
            if holds {
                t[cond] |= 1 << f;
            }
            f += 1;
        }
        cond += 1;
    }
    t
}

#[inline(always)]
pub fn cond_holds(cond: u8, nzcv: u32) -> bool {
    (COND_TABLE[(cond & 15) as usize] >> (nzcv & 15)) & 1 != 0
}

/// `AddWithCarry(x, y, carry_in)` for 32- or 64-bit operands: result and NZCV.
#[inline(always)]
pub fn add_with_carry(x: u64, y: u64, carry: bool, sf: bool) -> (u64, u32) {
    if sf {
        let (r1, c1) = x.overflowing_add(y);
        let (r, c2) = r1.overflowing_add(carry as u64);
        let c = c1 | c2;
        let v = ((x ^ r) & (y ^ r)) >> 63 != 0;
        let n = r >> 63;
        let z = (r == 0) as u32;
        (r, (n as u32) << 3 | z << 2 | (c as u32) << 1 | v as u32)
    } else {
        let x = x as u32;
        let y = y as u32;
        let wide = x as u64 + y as u64 + carry as u64;
        let r = wide as u32;
        let c = wide >> 32 != 0;
        let v = ((x ^ r) & (y ^ r)) >> 31 != 0;
        let n = r >> 31;
        let z = (r == 0) as u32;
        (r as u64, n << 3 | z << 2 | (c as u32) << 1 | v as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_immediates_match_known_encodings() {
        // and x0, x1, #0xff : N=1 immr=0 imms=0b000111
        assert_eq!(decode_bit_masks(1, 7, 0, true, 64).map(|m| m.0), Some(0xff));
        // orr w0, w1, #0x80000001 : N=0 immr=1 imms=0b000001 (2 ones rotated right by 1)
        assert_eq!(decode_bit_masks(0, 1, 1, true, 32).map(|m| m.0), Some(0x8000_0001));
        // 0x5555555555555555 : N=0 immr=0 imms=0b111100
        assert_eq!(decode_bit_masks(0, 0b111100, 0, true, 64).map(|m| m.0), Some(0x5555_5555_5555_5555));
        // all-ones element is reserved for immediates
        assert_eq!(decode_bit_masks(1, 0b111111, 0, true, 64), None);
        // N=1 with datasize 32 is reserved
        assert_eq!(decode_bit_masks(1, 0, 0, true, 32), None);
    }

    #[test]
    fn conditions() {
        assert!(cond_holds(0, 0b0100)); // EQ with Z
        assert!(!cond_holds(1, 0b0100)); // NE with Z
        assert!(cond_holds(10, 0b1001)); // GE with N==V
        assert!(cond_holds(11, 0b1000)); // LT with N!=V
        assert!(cond_holds(14, 0) && cond_holds(15, 0)); // AL, NV
    }

    #[test]
    fn add_with_carry_flags() {
        assert_eq!(add_with_carry(u64::MAX, 1, false, true), (0, 0b0110));
        assert_eq!(add_with_carry(0x7fff_ffff, 1, false, false), (0x8000_0000, 0b1001));
        // SUBS 0 - 1 = AddWithCarry(0, !1, 1): N, no carry (borrow)
        assert_eq!(add_with_carry(0, !1u64, true, true), (u64::MAX, 0b1000));
    }
}
