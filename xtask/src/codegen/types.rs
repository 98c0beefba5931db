//! Rust source for request, response and structure types.

use super::naming::{identifier, snake_case};
use super::{Context, Side};
use crate::spec::MemberShape;

/// How a member is held in Rust.
struct Field<'a> {
    shape: &'a MemberShape,
    /// The snake-case name without `r#`, used in method names.
    snake: String,
    /// The identifier of the field and its getter.
    ident: String,
    /// The Rust type without the outer `Option`.
    rust_type: String,
    /// The element type of a list, else the type itself.
    element: String,
    /// Whether the member is a scalar or a list of scalars rather than structures.
    scalar: bool,
    /// Whether the member holds a code-valued type, and whether that type is `Copy`.
    code_valued: Option<bool>,
}

fn scalar_type(precise: &str) -> Option<&'static str> {
    Some(match precise {
        "string" | "date" | "datetime_iso" => "String",
        "int64" => "i64",
        "uint64" => "u64",
        "float" => "f64",
        "bool" => "bool",
        _ => return None,
    })
}

fn field<'a>(context: &Context<'_>, owner: &str, side: Side, shape: &'a MemberShape) -> Field<'a> {
    let snake = snake_case(&shape.name);
    let attached = context.member_enum(owner, side, &shape.name);
    let scalar = scalar_type(&shape.member);
    let element = match attached {
        Some((name, _)) => name.to_owned(),
        None => scalar.map_or_else(|| shape.member.clone(), str::to_owned),
    };
    let rust_type = if shape.wire_type == "list" {
        format!("Vec<{element}>")
    } else {
        element.clone()
    };
    Field {
        ident: identifier(&snake),
        snake,
        rust_type,
        element,
        scalar: scalar.is_some(),
        code_valued: attached.map(|(_, spec)| !super::enums::is_text(spec)),
        shape,
    }
}

fn fields<'a>(
    context: &Context<'_>,
    owner: &str,
    side: Side,
    members: &'a [MemberShape],
) -> Result<Vec<Field<'a>>, String> {
    let fields: Vec<Field<'a>> = members
        .iter()
        .map(|member| field(context, owner, side, member))
        .collect();
    for (index, one) in fields.iter().enumerate() {
        if fields[..index].iter().any(|other| other.snake == one.snake) {
            return Err(format!("two members map to the Rust name `{}`", one.snake));
        }
        if matches!(one.snake.as_str(), "builder" | "build") {
            return Err(format!(
                "member `{}` clashes with a builder method",
                one.shape.name
            ));
        }
    }
    Ok(fields)
}

fn serde_attribute(field: &Field<'_>) -> String {
    format!(
        "#[serde(rename = \"{}\", default, skip_serializing_if = \"Option::is_none\")]\n",
        field.shape.name
    )
}

fn doc_lines(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "///\n".to_owned()
            } else {
                format!("/// {line}\n")
            }
        })
        .collect()
}

/// The request type, its builder and its trait impls.
pub(crate) fn request(context: &Context<'_>, action: &str) -> Result<String, String> {
    let shape = context.action(action)?;
    let fields = fields(context, action, Side::Input, &shape.input)?;
    if let Some(clash) = fields.iter().find(|field| field.snake == "checked") {
        return Err(format!(
            "member `{}` of {action} clashes with the field that marks a built request",
            clash.shape.name
        ));
    }
    let name = format!("{action}Request");
    let builder = format!("{name}Builder");
    let meta = super::meta::action_static(action);
    let mut out = String::new();

    out.push_str(&doc_lines(&format!("Input of the `{action}` action.")));
    if let Some(doc) = context.action_doc(action) {
        out.push_str("///\n");
        out.push_str(&doc_lines(doc));
    }
    out.push_str(&doc_lines(&format!(
        "\nBuild one with [`{name}::builder`]; `build()` checks every documented rule."
    )));
    if shape.status == "deprecated" {
        out.push_str("///\n/// The service marks this action as deprecated.\n");
    }
    out.push_str(
        "#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]\n#[non_exhaustive]\n",
    );
    out.push_str(&format!("pub struct {name} {{\n"));
    for field in &fields {
        out.push_str(&serde_attribute(field));
        out.push_str(&format!("{}: Option<{}>,\n", field.ident, field.rust_type));
    }
    // Never written, and read as no mark whatever is sent: `skip` would leave a built
    // request's mark in place when serde reads new members into it in place.
    out.push_str("#[serde(skip_serializing, default)]\nchecked: crate::checked::Checked,\n}\n\n");

    out.push_str(&format!("impl {name} {{\n"));
    out.push_str(&format!(
        "/// Starts building a request.\npub fn builder() -> {builder} {{\n{builder}::default()\n}}\n"
    ));
    for field in &fields {
        out.push_str(&doc_lines(&context.member_doc(
            action,
            Side::Input,
            field.shape,
        )));
        let (returns, body) = getter(field);
        out.push_str(&format!(
            "pub fn {}(&self) -> Option<{returns}> {{\n{body}\n}}\n",
            field.ident
        ));
    }
    out.push_str("}\n\n");

    out.push_str(&format!(
        "/// Builder for [`{name}`].\n#[derive(Clone, Debug, Default, PartialEq)]\npub struct {builder} {{\n"
    ));
    for field in &fields {
        out.push_str(&format!("{}: Option<{}>,\n", field.ident, field.rust_type));
    }
    out.push_str("}\n\n");
    out.push_str(&format!("impl {builder} {{\n"));
    for field in &fields {
        builder_methods(&mut out, field);
    }
    let assignments: String = fields
        .iter()
        .map(|f| format!("{0}: self.{0},\n", f.ident))
        .collect();
    out.push_str(&format!(
        "/// Finishes the request, checking every documented rule and reporting all violations \
         at once.\npub fn build(self) -> Result<{name}, ValidationErrors> {{\n\
         let mut request = {name} {{\n{assignments}checked: crate::checked::Checked::default(),\n}};\n\
         request.validate()?;\nrequest.checked = crate::checked::Checked::HELD;\nOk(request)\n}}\n}}\n\n"
    ));

    out.push_str(&format!(
        "impl Validate for {name} {{\nfn validate(&self) -> Result<(), ValidationErrors> {{\n\
         // Checked by `build()`, and nothing changes a request after.\n\
         if self.checked.held() {{\nreturn Ok(());\n}}\n\
         crate::validation::validate_typed(&{meta}, self)\n}}\n}}\n\n"
    ));
    let errors: String = shape
        .errors
        .iter()
        .map(|code| format!("\"{code}\", "))
        .collect();
    out.push_str(&format!(
        "impl Action for {name} {{\ntype Response = {action}Response;\n\
         const NAME: &'static str = \"{action}\";\n\
         const READ_ONLY: bool = {};\n\
         const ERRORS: &'static [&'static str] = &[{errors}];\n\
         fn meta() -> &'static ActionMeta {{\n&{meta}\n}}\n}}\n\n",
        context.read_only(action)
    ));
    Ok(out)
}

fn getter(field: &Field<'_>) -> (String, String) {
    let ident = &field.ident;
    if field.shape.wire_type == "list" {
        (
            format!("&[{}]", field.element),
            format!("self.{ident}.as_deref()"),
        )
    } else if field.rust_type == "String" {
        ("&str".to_owned(), format!("self.{ident}.as_deref()"))
    } else if field.code_valued == Some(true) || (field.scalar && field.code_valued.is_none()) {
        (field.rust_type.clone(), format!("self.{ident}"))
    } else {
        (
            format!("&{}", field.rust_type),
            format!("self.{ident}.as_ref()"),
        )
    }
}

fn builder_methods(out: &mut String, field: &Field<'_>) {
    let (ident, snake, wire) = (&field.ident, &field.snake, &field.shape.name);
    if field.shape.wire_type == "list" {
        out.push_str(&format!(
            "/// Appends one element to `{wire}`.\n\
             pub fn {ident}(mut self, value: impl Into<{}>) -> Self {{\n\
             self.{ident}.get_or_insert_with(Vec::new).push(value.into());\nself\n}}\n",
            field.element
        ));
    } else if field.scalar && field.rust_type != "String" && field.code_valued.is_none() {
        // Numbers and flags are taken as they are, so plain literals (`.limit(10)`) work.
        out.push_str(&format!(
            "/// Sets `{wire}`.\npub fn {ident}(mut self, value: {}) -> Self {{\n\
             self.{ident} = Some(value);\nself\n}}\n",
            field.rust_type
        ));
    } else {
        out.push_str(&format!(
            "/// Sets `{wire}`.\npub fn {ident}(mut self, value: impl Into<{}>) -> Self {{\n\
             self.{ident} = Some(value.into());\nself\n}}\n",
            field.rust_type
        ));
    }
    out.push_str(&format!(
        "/// Sets or clears `{wire}`.\npub fn set_{snake}(mut self, value: Option<{0}>) -> Self {{\n\
         self.{ident} = value;\nself\n}}\n\
         /// Returns `{wire}` as set so far.\npub fn get_{snake}(&self) -> &Option<{0}> {{\n&self.{ident}\n}}\n",
        field.rust_type
    ));
}

/// The response type.
pub(crate) fn response(context: &Context<'_>, action: &str) -> Result<String, String> {
    let shape = context.action(action)?;
    let name = format!("{action}Response");
    let mut out = doc_lines(&format!(
        "Output of the `{action}` action.\n\nUnknown members are ignored and `null` reads as \
         `None`; decoded through [`crate::decode_response`] or [`crate::from_value_lenient`], \
         numbers sent as strings are accepted too."
    ));
    out.push_str(&public_struct(
        &name,
        &fields(context, action, Side::Output, &shape.output)?,
        |field| context.member_doc(action, Side::Output, field),
    ));
    Ok(out)
}

/// A shared structure.
pub(crate) fn structure(context: &Context<'_>, name: &str) -> Result<String, String> {
    let shape = context.structure(name)?;
    let usage = match shape.usage.as_str() {
        "in" => "Used in requests.",
        "out" => "Used in responses.",
        _ => "Used in requests and responses.",
    };
    let mut out = doc_lines(&format!(
        "The `{name}` structure. {usage}\n\nCreate one with `Default::default()` and set the \
         fields you need."
    ));
    out.push_str(&public_struct(
        name,
        &fields(context, name, Side::Structure, &shape.members)?,
        |member| context.member_doc(name, Side::Structure, member),
    ));
    Ok(out)
}

fn public_struct(name: &str, fields: &[Field<'_>], doc: impl Fn(&MemberShape) -> String) -> String {
    let mut out = String::from(
        "#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]\n#[non_exhaustive]\n",
    );
    out.push_str(&format!("pub struct {name} {{\n"));
    for field in fields {
        out.push_str(&doc_lines(&doc(field.shape)));
        out.push_str(&serde_attribute(field));
        out.push_str(&format!(
            "pub {}: Option<{}>,\n",
            field.ident, field.rust_type
        ));
    }
    out.push_str("}\n\n");
    out
}
