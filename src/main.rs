use std::process::ExitCode;

use clap::Parser;

/// `kafkascope serve` decodes frames from any client with kafka-protocol, which pre-allocates
/// arrays from counts on the wire: this allocator survives a hostile count (see its docs).
#[global_allocator]
static ALLOC: kafkascope_gateway::codec::alloc::HugeAllocGuard =
    kafkascope_gateway::codec::alloc::HugeAllocGuard;

fn main() -> ExitCode {
    kafkascope::cli::main(kafkascope::cli::Cli::parse())
}
