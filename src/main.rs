use std::process::ExitCode;

use clap::Parser;

/// `kafkascope serve` decodes frames from any client with kafka-protocol, which pre-allocates
/// arrays from counts on the wire: this allocator survives a hostile count (see its docs).
#[global_allocator]
static ALLOC: kafkascope_gateway::codec::alloc::HugeAllocGuard =
    kafkascope_gateway::codec::alloc::HugeAllocGuard;

fn main() -> ExitCode {
    let cli = kafkascope::cli::Cli::parse();
    // `kafkascope run x | head` should end quietly when `head` has read enough, as Unix tools
    // do, instead of panicking on the closed pipe: restore SIGPIPE's default action, which
    // Rust's runtime sets to "ignore". Not for `serve`, which must outlive its clients' sockets
    // whatever happens to its output.
    #[cfg(unix)]
    if !matches!(cli.command, Some(kafkascope::cli::Cmd::Serve { .. })) {
        // SAFETY: called before any other thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    kafkascope::cli::main(cli)
}
