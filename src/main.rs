//! The `valar` binary: no arguments opens the app; everything else is a subcommand.

/// mimalloc keeps freed memory for the next file where glibc's allocator gives it back to the
/// system and faults it in again (docs/parity.md, stop 25).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    valar::cli::main()
}
