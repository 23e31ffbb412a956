//! Progress on stderr for long loads, shown only on a terminal: one line for the whole
//! load, and one per layer blob a source is reading (a registry's downloads), with its
//! bytes and rate. No colours are used, so `NO_COLOR` has nothing to turn off; when stderr
//! is not a terminal nothing is drawn at all.

use crate::load::Progress;
use crate::source::transfer::Transfers;
use std::collections::BTreeMap;
use std::io::IsTerminal;

pub struct ProgressBar<'a> {
    shown: Option<Shown<'a>>,
}

struct Shown<'a> {
    multi: indicatif::MultiProgress,
    total: indicatif::ProgressBar,
    transfers: &'a Transfers,
    /// A line per layer blob still being read.
    layers: BTreeMap<usize, indicatif::ProgressBar>,
}

impl<'a> ProgressBar<'a> {
    /// `transfers` is the load's [`ParseControl::transfers`](crate::layer::ParseControl).
    pub fn new(quiet: bool, transfers: &'a Transfers) -> Self {
        let show = !quiet && std::io::stderr().is_terminal();
        let shown = show.then(|| {
            let multi =
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
            let total = multi.add(indicatif::ProgressBar::new(0));
            total.set_style(style(
                "{spinner} layers {msg} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            ));
            Shown {
                multi,
                total,
                transfers,
                layers: BTreeMap::new(),
            }
        });
        ProgressBar { shown }
    }

    pub fn update(&mut self, progress: Progress) {
        let Some(shown) = &mut self.shown else {
            return;
        };
        let bar = &shown.total;
        bar.set_length(progress.bytes_total.max(progress.bytes_done));
        bar.set_position(progress.bytes_done);
        bar.set_message(format!(
            "{}/{}",
            progress.layers_done, progress.layers_total
        ));
        for transfer in shown.transfers.snapshot() {
            if transfer.done {
                if let Some(line) = shown.layers.remove(&transfer.layer) {
                    line.finish_and_clear();
                    shown.multi.remove(&line);
                }
                continue;
            }
            let line = shown.layers.entry(transfer.layer).or_insert_with(|| {
                let line = shown.multi.add(indicatif::ProgressBar::new(transfer.size));
                line.set_style(style("  {prefix} [{bar:24}] {msg}"));
                line.set_prefix(format!("layer {:>3}", transfer.layer));
                line
            });
            line.set_length(transfer.size.max(transfer.bytes));
            line.set_position(transfer.bytes);
            line.set_message(transfer.summary());
        }
    }

    pub fn finish(&mut self) {
        if let Some(shown) = self.shown.take() {
            for line in shown.layers.values() {
                line.finish_and_clear();
            }
            shown.total.finish_and_clear();
        }
    }
}

fn style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ")
}
