//! `bootaudit rules`: List every rule a finding can carry: its id, category, severity (and how it varies), what may explain it, and what it means. For suppressions, baseline acceptances and SIEM mappings.

use super::*;

/// The arguments of `bootaudit rules`.
#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: RulesFormat,
}

/// Runs `bootaudit rules`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args { format } = a;

    let all = bootaudit::rules::ALL;
    match format {
        RulesFormat::Table => emit(&render::rules::table(all))?,
        RulesFormat::Json => emit_json(&all)?,
        RulesFormat::Markdown => emit(&render::rules::markdown(all))?,
    }
    Ok(ExitCode::SUCCESS)
}
