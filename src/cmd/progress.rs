//! The digest's progress for people: a bar on a terminal, a line every 1,000 messages otherwise.

use std::io::IsTerminal;
use std::sync::OnceLock;

use gazette::digest::pipeline::Progress;

use super::output::errln;

/// Fills in the library's [`Progress`] with indicatif, which stays in the binary.
#[derive(Default)]
pub struct Bar {
    bar: OnceLock<indicatif::ProgressBar>,
}

impl Progress for Bar {
    fn start(&self, total: usize) {
        let bar = if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} sent, {per_sec}, {eta} left",
            ) {
                bar.set_style(style);
            }
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        let _ = self.bar.set(bar);
    }

    fn handled(&self, done: usize, total: usize) {
        let Some(bar) = self.bar.get() else { return };
        bar.inc(1);
        if bar.is_hidden() && (done.is_multiple_of(1000) || done == total) {
            errln!("gazette: {done}/{total} messages handled");
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}
