//! Making a machine ready for Lean 3 proving, with the standard tools' own commands:
//! Lean 3.51.1 through elan ([`toolchain`]), mathlib 3 at its final Lean 3 commit cloned with
//! git and configured as leanpkg configures it ([`mathlib`]), and its published `.olean` cache
//! through `leanproject` or the download it makes ([`cache`]). Compiling the `.olean` files a
//! header needs is the bridge's ([`lean_bridge::make`]): only the bridge starts Lean.
//!
//! Every external program runs through [`tools`], which knows their names; tests put scripts of
//! those names first on `PATH` to pin the command lines.

pub mod cache;
pub mod error;
pub mod mathlib;
pub mod toolchain;
pub mod tools;

/// The toolchain mathlib 3's final commit names in its `leanpkg.toml`.
pub const LEAN_TOOLCHAIN: &str = "leanprover-community/lean:3.51.1";
/// Where mathlib 3 lives.
pub const MATHLIB_GIT: &str = "https://github.com/leanprover-community/mathlib";
/// mathlib 3's final commit (master when the repository was archived, 30 October 2023).
pub const MATHLIB_REV: &str = "65a1391a0106c9204fe45bc73a039f056558cb83";
/// Where `leanproject get-cache` downloads mathlib's compiled `.olean` files from: one
/// `<commit>.tar.xz` per commit, unpacked at the checkout's root.
pub const OLEAN_CACHE_URL: &str = "https://oleanstorage.azureedge.net/mathlib/";
