//! The `valar` binary: no arguments opens the app; everything else is a subcommand.

fn main() -> std::process::ExitCode {
    valar::cli::main()
}
