//! The `bitsmnist` binary: see the library's [`bitsmnist_cli::run`].

fn main() -> std::process::ExitCode {
    bitsmnist_cli::run()
}
