//! The national load benchmark: `cargo bench --bench load -- [--professionals N] [--days D] [--duration-secs S]
//! [--database-url URL] [--json FILE]` (see `snp::load::USAGE`). The work is in `snp::load`, which the test
//! suite also runs at a small scale; this is its command line.

use snp::load::{Options, USAGE, run};

/// The allocator of `snp serve` (src/main.rs), so that the figures are those of the binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let options = Options::parse(args).unwrap_or_else(|error| {
        eprintln!("load: {error}\n\nusage: {USAGE}");
        std::process::exit(2);
    });
    let report = run(&options).await.unwrap_or_else(|error| {
        eprintln!("load: {error}");
        std::process::exit(1);
    });
    println!("{}", report.text());
    if let Some(path) = &options.json {
        let json = serde_json::to_string_pretty(&report.json()).expect("plain data");
        if let Err(error) = std::fs::write(path, json) {
            eprintln!("load: cannot write {}: {error}", path.display());
            std::process::exit(1);
        }
    }
}
