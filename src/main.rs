use std::process::ExitCode;

fn main() -> ExitCode {
    creditbridge::cli::main()
}
