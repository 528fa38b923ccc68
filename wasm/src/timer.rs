//! The generic timer (see lib.rs).
