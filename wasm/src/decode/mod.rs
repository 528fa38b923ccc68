//! A64 decoding: the decoded form ([`insn`]), the table ([`table`]) and the per-page decode
//! cache that keeps the table scan out of the execution loop ([`cache`]).

pub mod cache;
pub mod insn;
pub mod table;

pub use insn::{Atomic, Excl, Insn, Mem, Op, Wb};
pub use table::decode;
