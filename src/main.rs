use clap::Parser;

fn main() {
    let args = twinform::cli::Cli::parse();
    std::process::exit(twinform::run(args));
}
