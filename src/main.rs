use clap::Parser;

fn main() {
    let args = match twinform::cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // `--help` and `--version` are not errors. A usage error exits 1, not
            // clap's 2: to CI, 2 means "the plan has changes".
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(twinform::run(args));
}
