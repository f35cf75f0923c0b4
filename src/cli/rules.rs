//! `bootaudit rules`: List every rule a finding can carry: its id, category, severity (and how it varies), what may explain it, and what it means. For suppressions, baseline acceptances and SIEM mappings.

use super::*;

// The arguments of `bootaudit rules` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: RulesFormat,
    #[command(flatten)]
    pub out: Output,
}

/// Runs `bootaudit rules`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args { format, out } = a;

    let all = bootaudit::rules::ALL;
    match format {
        RulesFormat::Table => emit_to(&out, &render::rules::table(all))?,
        RulesFormat::Json => emit_json_to(&out, &all)?,
        RulesFormat::Markdown => emit_to(&out, &render::rules::markdown(all))?,
    }
    Ok(ExitCode::SUCCESS)
}
