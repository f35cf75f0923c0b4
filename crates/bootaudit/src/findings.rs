//! Findings: what `bootaudit diff` reports. Each difference between a
//! baseline and the current boot becomes a finding with a stable rule id, a
//! category, a severity, a message, the evidence, and whether something
//! explains it. Renderers print findings; they never compute them.

use serde::{Deserialize, Serialize};

/// How bad a finding is, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Expected churn, or explained.
    Low,
    /// Needs a look.
    Medium,
    /// Likely tampering or a weakened boot chain.
    High,
    /// The signature of an implant or a lie.
    Critical,
}

impl Severity {
    /// The word used in JSON and tables.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl Category {
    /// The word used in JSON and tables.
    pub fn word(self) -> &'static str {
        match self {
            Category::Firmware => "firmware",
            Category::Acpi => "acpi",
            Category::DeviceTree => "device-tree",
            Category::MemoryMap => "memory-map",
            Category::Tpm => "tpm",
            Category::SecureBoot => "secure-boot",
            Category::BootEntries => "boot-entries",
            Category::LoadedImages => "loaded-images",
            Category::Identity => "identity",
            Category::Baseline => "baseline",
            Category::Windows => "windows",
            Category::Platform => "platform",
            Category::Timeline => "timeline",
        }
    }
}

/// What part of the boot chain a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Firmware code (PCR0, firmware blobs).
    Firmware,
    /// ACPI tables.
    Acpi,
    /// The Device Tree an Arm firmware hands the OS.
    DeviceTree,
    /// The UEFI memory map.
    MemoryMap,
    /// The TPM and its event log.
    Tpm,
    /// Secure Boot state and key databases.
    SecureBoot,
    /// Boot#### entries and BootOrder.
    BootEntries,
    /// Loaded images (firmware drivers, applications).
    LoadedImages,
    /// Platform and firmware identity.
    Identity,
    /// The baseline a host is judged against.
    Baseline,
    /// The Windows boot, as its measured SIPA records describe it.
    Windows,
    /// The running platform's protections (flash write protection, IOMMU,
    /// kernel lockdown), read on a live host.
    Platform,
    /// How a change got there: the OS's logs and the firmware states on
    /// one time line (`bootaudit timeline`).
    Timeline,
}

/// One finding. It reads back from its own JSON (a fleet's spool of
/// per-host facts holds findings between passes) only under a rule id of
/// the registry.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Stable rule id (`acpi.table.added`).
    pub rule: &'static str,
    /// The category.
    pub category: Category,
    /// The severity (after explanations downgraded it).
    pub severity: Severity,
    /// True when something in the evidence explains the change.
    pub explained: bool,
    /// What explains it, when something does.
    pub explanation: Option<String>,
    /// What changed, for a person.
    pub message: String,
    /// Before/after values, PCR, event, address range.
    pub evidence: serde_json::Value,
    /// What the finding is about, stable from boot to boot (`PCR4`, `SSDT
    /// BAEXTRA`, a device path, `RuntimeServicesData@0x7e000000`): with the
    /// rule, the key baselines use to learn and accept findings.
    pub subject: String,
    /// Which explanations may apply to this finding (not serialized).
    #[serde(skip)]
    pub explainable_by: Explainers,
}

/// A finding as its JSON says, before its rule id is found in the
/// registry: a finding names no rule the registry does not define.
#[derive(Deserialize)]
struct FindingRecord {
    rule: String,
    category: Category,
    severity: Severity,
    explained: bool,
    explanation: Option<String>,
    message: String,
    evidence: serde_json::Value,
    subject: String,
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Finding, D::Error> {
        let r = FindingRecord::deserialize(d)?;
        let rule = crate::rules::by_id(&r.rule).ok_or_else(|| {
            serde::de::Error::custom(format!("no rule {:?} in the registry", r.rule))
        })?;
        Ok(Finding {
            rule: rule.id,
            category: r.category,
            severity: r.severity,
            explained: r.explained,
            explanation: r.explanation,
            message: r.message,
            evidence: r.evidence,
            subject: r.subject,
            explainable_by: Explainers::default(),
        })
    }
}

pub use crate::rules::Explainers;

impl Finding {
    /// A new, unexplained finding of a rule of the registry
    /// ([`crate::rules`]), at the rule's severity.
    pub fn new(
        rule: &'static crate::rules::Rule,
        message: String,
        evidence: serde_json::Value,
    ) -> Finding {
        Finding {
            rule: rule.id,
            category: rule.category,
            severity: rule.severity,
            explained: false,
            explanation: None,
            message,
            evidence,
            subject: String::new(),
            explainable_by: Explainers::default(),
        }
    }

    /// Sets the severity the case calls for, as a function of the registry
    /// decides it (e.g. [`crate::rules::acpi_table_added`]).
    pub fn at(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// Sets what the finding is about.
    pub fn about(mut self, subject: impl Into<String>) -> Finding {
        self.subject = subject.into();
        self
    }

    /// The key baselines match: `rule` or `rule:subject`.
    pub fn key(&self) -> String {
        if self.subject.is_empty() {
            self.rule.to_string()
        } else {
            format!("{}:{}", self.rule, self.subject)
        }
    }

    /// Marks which explanations may apply.
    pub fn explainable(mut self, e: Explainers) -> Finding {
        self.explainable_by = e;
        self
    }

    /// Notes a partial explanation: the finding stays unexplained, and is
    /// lowered to `floor` at most (never raised).
    pub fn qualify(&mut self, why: String, floor: Severity) {
        self.explanation = Some(why);
        self.severity = self.severity.min(floor);
    }

    /// Marks the finding explained and downgrades it to at most `low`.
    pub fn explain(&mut self, why: String) {
        self.explained = true;
        self.explanation = Some(why);
        self.severity = self.severity.min(Severity::Low);
    }
}

/// Counts per severity.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings.
    pub low: usize,
    /// Info findings.
    pub info: usize,
    /// Findings nothing explains.
    pub unexplained: usize,
}

/// Counts findings.
pub fn summarize(f: &[Finding]) -> Summary {
    let mut s = Summary::default();
    for x in f {
        match x.severity {
            Severity::Critical => s.critical += 1,
            Severity::High => s.high += 1,
            Severity::Medium => s.medium += 1,
            Severity::Low => s.low += 1,
            Severity::Info => s.info += 1,
        }
        if !x.explained {
            s.unexplained += 1;
        }
    }
    s
}

/// Sorts for reports: unexplained first, then by severity (worst first),
/// then by rule.
pub fn sort(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        a.explained
            .cmp(&b.explained)
            .then(b.severity.cmp(&a.severity))
            .then(a.rule.cmp(b.rule))
            .then(a.message.cmp(&b.message))
    });
}

/// True when an unexplained finding at or above `threshold` exists.
pub fn fails(f: &[Finding], threshold: Severity) -> bool {
    f.iter().any(|x| !x.explained && x.severity >= threshold)
}
