//! The client's per-action methods, written to
//! `crates/iotexplorer-http/src/generated/operations.rs`: one `async fn` per action that
//! calls `Client::send`, so the typed API and the spec cannot drift apart.

use std::path::{Path, PathBuf};

use super::naming::{identifier, snake_case};
use super::{CODEGEN_COMMAND, Context, PREAMBLE, rustfmt};
use crate::ensure::{Mode, ensure_file};
use crate::spec::{self, ChineseNames, Overlay, StructuralSpec};

/// The generated file, relative to the workspace root.
pub(crate) const OUTPUT_FILE: &str = "crates/iotexplorer-http/src/generated/operations.rs";

/// Where the generated file lives.
pub(crate) fn output_path(workspace_root: &Path) -> PathBuf {
    workspace_root.join(OUTPUT_FILE)
}

/// Generates the methods from `spec_dir` and writes them to, or checks them against,
/// `out_file`. Returns the file when it changed (or would change).
pub(crate) fn run(spec_dir: &Path, out_file: &Path, mode: Mode) -> Result<Vec<PathBuf>, String> {
    let (structural, overlay) = spec::load(spec_dir)?;
    let source = rustfmt(&operations(&structural, &overlay))?;
    let changed = ensure_file(out_file, &source, mode, CODEGEN_COMMAND)?;
    Ok(if changed {
        vec![out_file.to_owned()]
    } else {
        Vec::new()
    })
}

fn operations(structural: &StructuralSpec, overlay: &Overlay) -> String {
    // The client's methods carry no Chinese names.
    let names = ChineseNames::default();
    let context = Context {
        structural,
        overlay,
        names: &names,
    };
    let mut body = String::from(
        "use iotexplorer_model as model;\n\nuse crate::{Client, Error};\n\n\
         /// One method per action of the API, each a typed shorthand for [`Client::send`].\n\
         impl Client {\n",
    );
    for (name, shape) in &structural.actions {
        let overlay = overlay.actions.get(name);
        let summary = overlay
            .and_then(|action| action.doc.as_deref())
            .and_then(|doc| doc.split("\n\n").next())
            .map(|paragraph| paragraph.replace('\n', " "));
        match summary {
            Some(summary) => body.push_str(&format!("/// Calls `{name}`: {summary}\n")),
            None => body.push_str(&format!("/// Calls `{name}`.\n")),
        }
        let read_only = context.read_only(name);
        body.push_str(if read_only {
            "///\n/// Read-only: failures are retried when the retry policy allows.\n"
        } else {
            "///\n/// Not read-only: after an ambiguous failure it is not resent \
             ([`Error::Ambiguous`]).\n"
        });
        if shape.status == "deprecated" {
            body.push_str("///\n/// The service marks this action as deprecated.\n");
        }
        let method = identifier(&snake_case(name));
        body.push_str(&format!(
            "pub async fn {method}(&self, request: &model::{name}Request) \
             -> Result<model::{name}Response, Error> {{\n    self.send(request).await\n}}\n\n"
        ));
    }
    body.push_str("}\n");
    format!(
        "{PREAMBLE}\n\n//! Typed methods for every action, generated from the model's spec.\n\n{body}"
    )
}
