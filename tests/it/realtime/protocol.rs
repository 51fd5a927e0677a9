//! (see mod.rs)
