use clap::Parser;

fn main() {
    let cli = layerscope::cli::Cli::parse();
    std::process::exit(layerscope::dispatch::run(cli));
}
