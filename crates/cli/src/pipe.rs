//! A closed pipe downstream (`recpipe jobs list | head -1`) ends a client command quietly with
//! status 0, as Unix filters end, instead of a panic or an error. Rust ignores SIGPIPE, so a
//! write to a closed pipe fails with EPIPE: `println!` panics with it and `?` returns it.

use std::io::ErrorKind;

/// Installs the panic hook that turns `println!`'s broken-pipe panic into a quiet exit.
pub fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Whether `e` (or any of its causes) is a broken pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == ErrorKind::BrokenPipe))
}
