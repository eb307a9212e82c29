//! The `netmonitor` binary: everything is in the library ([`netmonitor::app`]).

fn main() -> std::process::ExitCode {
    netmonitor::app::main()
}
