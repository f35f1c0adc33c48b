//! `snp`: parse the command line, load configuration, set up logs, open the store, run the subcommand.

fn main() -> std::process::ExitCode {
    snp::cli::main()
}
