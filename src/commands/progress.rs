//! A progress bar on stderr for long loads, shown only on a terminal.

use crate::load::Progress;
use std::io::IsTerminal;

pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressBar {
    pub fn new(quiet: bool) -> Self {
        let show = !quiet && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} layers {msg} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        ProgressBar { bar }
    }

    pub fn update(&mut self, progress: Progress) {
        if let Some(bar) = &self.bar {
            bar.set_length(progress.bytes_total.max(progress.bytes_done));
            bar.set_position(progress.bytes_done);
            bar.set_message(format!(
                "{}/{}",
                progress.layers_done, progress.layers_total
            ));
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
