//! `snp`: parse the command line, load configuration, set up logs, open the store, run the subcommand.

/// mimalloc rather than the system's allocator: see its line in Cargo.toml (the load benchmark uses the same).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    snp::cli::main()
}
