//! SARIF 2.1.0 for code-scanning dashboards, written with serde-sarif's typed model.
//!
//! One rule per secret rule; each result is located by its path in the image (relative to
//! the `IMAGE_ROOT` base, as a dashboard shows an artifact) and by its layer (a logical
//! location). When the Dockerfile is known, the location is its line instead, so GitHub
//! shows the result on the instruction that made the layer.

use crate::analysis::secrets::{Finding, Place, RULES};
use crate::escape::{escape_bytes, escape_str};
use crate::load::LoadedImage;
use serde_sarif::sarif::{
    ArtifactLocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Run, Sarif, Tool, ToolComponent,
};
use std::io::{self, Write};

/// Where the Dockerfile is and which line made each layer.
pub struct DockerfileLines<'a> {
    /// The path as given, used as the artifact's URI.
    pub path: &'a str,
    pub line_of_layer: &'a dyn Fn(usize) -> Option<usize>,
}

/// Base URI id for paths inside the image.
const IMAGE_ROOT: &str = "IMAGE_ROOT";

fn message(text: String) -> Message {
    Message::builder().text(text).build()
}

fn location(
    loaded: &LoadedImage,
    finding: &Finding,
    dockerfile: Option<&DockerfileLines<'_>>,
) -> Location {
    let layer = finding.layer();
    let mut logical = Vec::new();
    if let Some(layer) = layer {
        let instruction = super::secrets::instruction(loaded, layer);
        logical.push(
            LogicalLocation::builder()
                .name(format!("layer {layer}"))
                .fully_qualified_name(format!(
                    "{}:layer {layer}",
                    escape_str(&loaded.image.source)
                ))
                .kind("module")
                .decorated_name(escape_str(&instruction).into_owned())
                .build(),
        );
    }
    let physical = match (
        dockerfile,
        layer.and_then(|l| dockerfile.and_then(|d| (d.line_of_layer)(l))),
    ) {
        (Some(dockerfile), Some(line)) => PhysicalLocation::builder()
            .artifact_location(ArtifactLocation::builder().uri(dockerfile.path).build())
            .region(Region::builder().start_line(line as i64).build())
            .build(),
        _ => {
            let uri = match &finding.place {
                Place::File { path, .. } => {
                    escape_bytes(path.strip_prefix(b"/").unwrap_or(path)).into_owned()
                }
                // The config is a document of its own.
                Place::Config { .. } => "image-config.json".to_string(),
            };
            PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(uri)
                        .uri_base_id(IMAGE_ROOT)
                        .build(),
                )
                .build()
        }
    };
    let builder = Location::builder().physical_location(physical);
    if logical.is_empty() {
        builder.build()
    } else {
        builder.logical_locations(logical).build()
    }
}

/// Write the secret findings as one SARIF run.
pub fn write(
    loaded: &LoadedImage,
    findings: &[Finding],
    dockerfile: Option<&DockerfileLines<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rules: Vec<ReportingDescriptor> = RULES
        .iter()
        .map(|rule| {
            ReportingDescriptor::builder()
                .id(rule.id)
                .name(rule.id)
                .short_description(MultiformatMessageString::builder().text(rule.title).build())
                .help(MultiformatMessageString::builder().text(rule.fix).build())
                .build()
        })
        .collect();
    let results: Vec<SarifResult> = findings
        .iter()
        .map(|finding| {
            let index = RULES
                .iter()
                .position(|r| r.id == finding.rule.id)
                .unwrap_or(0);
            let mut text = format!(
                "{}: {}",
                finding.rule.title,
                super::secrets::describe(loaded, finding)
            );
            if !finding.preview.is_empty() {
                text.push_str(&format!(" [{}]", finding.preview));
            }
            let mut properties = std::collections::BTreeMap::new();
            properties.insert(
                "fate".to_string(),
                serde_json::to_value(finding.fate).unwrap_or_default(),
            );
            SarifResult::builder()
                .rule_id(finding.rule.id)
                .rule_index(index as i64)
                .level(ResultLevel::Error)
                .message(message(text))
                .locations(vec![location(loaded, finding, dockerfile)])
                .properties(
                    PropertyBag::builder()
                        .additional_properties(properties)
                        .build(),
                )
                .build()
        })
        .collect();
    let driver = ToolComponent::builder()
        .name("layerscope")
        .version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let sarif = Sarif::builder()
        .schema(serde_sarif::sarif::SCHEMA_URL)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    writeln!(out)
}
