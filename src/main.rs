use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    kafkascope::cli::main(kafkascope::cli::Cli::parse())
}
