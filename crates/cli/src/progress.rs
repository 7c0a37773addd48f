//! Progress bars for long runs, hidden when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

pub fn bar(total: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{msg:12} [{bar:40}] {percent:>3}% {pos}/{len} ({eta} left)")
            .expect("progress template is valid")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
