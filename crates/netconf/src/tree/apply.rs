//! Applying an edit to a configuration with RFC 6241 section 7.2 semantics: the datastore
//! engine of simulated devices, and the reference the diff is tested against.

use super::children::Children;

use super::edit::{DefaultOperation, Edit, Operation};
use super::node::{ConfigTree, Ident, Node};
use super::path::DataPath;
use super::schema::PrefixMap;
use crate::rpc_error::{ErrorMessage, ErrorTag, ErrorType, RpcError};

/// Why an edit could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message} at {path}", tag.as_str())]
pub struct EditError {
    /// The RFC 6241 error-tag.
    pub tag: EditErrorTag,
    /// The node the error is about.
    pub path: DataPath,
    /// A human-readable explanation.
    pub message: String,
}

/// The error-tags [`apply_edit`] can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditErrorTag {
    /// `create` of something that exists.
    DataExists,
    /// `delete` of something missing, or (with `default-operation` `none`) an edit below a
    /// node that does not exist.
    DataMissing,
    /// An operation that cannot apply to this node (changing a list key).
    BadAttribute,
}

// === impl EditError ===

impl EditErrorTag {
    /// The RFC spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DataExists => "data-exists",
            Self::DataMissing => "data-missing",
            Self::BadAttribute => "bad-attribute",
        }
    }
}

impl EditError {
    fn new(tag: EditErrorTag, path: &[Ident], message: &str) -> Self {
        Self {
            tag,
            path: DataPath {
                steps: path.to_vec(),
            },
            message: message.to_owned(),
        }
    }

    /// The `<rpc-error>` a NETCONF server answers with (error-type application, error-path
    /// written with `prefixes`).
    pub fn to_rpc_error(&self, prefixes: &PrefixMap) -> RpcError {
        let mut error = RpcError::new(ErrorType::Application, ErrorTag::parse(self.tag.as_str()));
        error.error_path = Some(self.path.format(prefixes));
        error.error_path_namespaces = self
            .path
            .steps
            .iter()
            .flat_map(|s| std::iter::once(&s.name).chain(s.key_names()))
            .filter_map(|q| prefixes.prefix(&q.ns).map(|p| (p.to_owned(), q.ns.clone())))
            .fold(Vec::new(), |mut acc, pair| {
                if !acc.contains(&pair) {
                    acc.push(pair);
                }
                acc
            });
        error.error_message = Some(ErrorMessage {
            text: self.message.clone(),
            lang: Some("en".to_owned()),
        });
        error
    }
}

/// The operation in effect for a node: its own, or inherited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effective {
    Op(Operation),
    /// `default-operation` `none` without an operation on the way.
    Navigate,
}

/// Applies `edit` to `tree` and returns the result; `tree` itself is left untouched, so a
/// failed edit changes nothing (like `rollback-on-error`).
///
/// Semantics (RFC 6241 section 7.2): a node's operation applies to its subtree unless a
/// descendant carries its own. `merge` merges (creating what is missing), `replace` puts the
/// edit's subtree in place of the existing one, `create` fails with `data-exists` when the
/// node exists, `delete` fails with `data-missing` when it does not, `remove` deletes when
/// present. With `default-operation` `none`, nodes without an operation must exist
/// (`data-missing` otherwise), except when everything below them is a `remove`. A replace
/// applies to the subtrees the edit names, never to the whole datastore. A node that only
/// leads to `remove`s is not created. Operations on list keys are refused (`bad-attribute`).
pub fn apply_edit(
    tree: &ConfigTree,
    edit: &Edit,
    default: DefaultOperation,
) -> Result<ConfigTree, EditError> {
    let inherited = match default {
        DefaultOperation::Merge => Effective::Op(Operation::Merge),
        DefaultOperation::Replace => Effective::Op(Operation::Replace),
        DefaultOperation::None => Effective::Navigate,
    };
    let mut result = tree.clone();
    apply_children(
        &mut result.roots,
        &edit.tree.roots,
        inherited,
        None,
        &mut Vec::new(),
    )?;
    Ok(result)
}

fn apply_children(
    target: &mut Children,
    edits: &Children,
    inherited: Effective,
    entry: Option<&Ident>,
    path: &mut Vec<Ident>,
) -> Result<(), EditError> {
    for (ident, edit) in edits {
        path.push(ident.clone());
        apply_one(target, ident, edit, inherited, entry, path)?;
        path.pop();
    }
    Ok(())
}

fn apply_one(
    target: &mut Children,
    ident: &Ident,
    edit: &Node,
    inherited: Effective,
    entry: Option<&Ident>,
    path: &mut Vec<Ident>,
) -> Result<(), EditError> {
    let effective = edit.op.map_or(inherited, Effective::Op);
    let is_key = entry.is_some_and(|e| e.key_names().any(|k| *k == ident.name));
    if is_key && edit.op.is_some_and(|op| op != Operation::Merge) {
        return Err(EditError::new(
            EditErrorTag::BadAttribute,
            path,
            "a list key can only be given, not changed or removed",
        ));
    }
    match effective {
        Effective::Op(Operation::Create) => {
            if target.contains_key(ident) {
                return Err(EditError::new(
                    EditErrorTag::DataExists,
                    path,
                    "data already exists",
                ));
            }
            target.insert(ident.clone(), build(ident, edit, path)?);
        }
        Effective::Op(Operation::Merge) => match target.get_mut(ident) {
            Some(existing) => merge_into(existing, ident, edit, path)?,
            None => {
                let built = build(ident, edit, path)?;
                let only_led_to_removals = edit.op.is_none()
                    && edit.value.is_none()
                    && !edit.children.is_empty()
                    && built.children.is_empty();
                if !only_led_to_removals {
                    target.insert(ident.clone(), built);
                }
            }
        },
        Effective::Op(Operation::Replace) => {
            let built = build(ident, edit, path)?;
            target.insert(ident.clone(), built);
        }
        Effective::Op(Operation::Delete) => {
            if target.remove(ident).is_none() {
                return Err(EditError::new(
                    EditErrorTag::DataMissing,
                    path,
                    "data does not exist",
                ));
            }
        }
        Effective::Op(Operation::Remove) => {
            target.remove(ident);
        }
        Effective::Navigate => match target.get_mut(ident) {
            Some(existing) => {
                apply_children(
                    &mut existing.children,
                    &edit.children,
                    Effective::Navigate,
                    Some(ident),
                    path,
                )?;
            }
            None if only_removals(edit) => {}
            None => {
                return Err(EditError::new(
                    EditErrorTag::DataMissing,
                    path,
                    "no such node in the datastore (default-operation none)",
                ));
            }
        },
    }
    Ok(())
}

/// Merges `edit` into the existing node `existing`.
fn merge_into(
    existing: &mut Node,
    ident: &Ident,
    edit: &Node,
    path: &mut Vec<Ident>,
) -> Result<(), EditError> {
    if edit.value.is_some() {
        existing.value = edit.value.clone();
        existing.children.clear();
    } else if !edit.children.is_empty() {
        existing.value = None;
        apply_children(
            &mut existing.children,
            &edit.children,
            Effective::Op(Operation::Merge),
            Some(ident),
            path,
        )?;
    } else if existing.children.is_empty() {
        // An empty leaf merged onto a leaf sets it empty.
        existing.value = None;
    }
    Ok(())
}

/// Builds the node an edit describes where nothing exists yet: nested `delete`s fail,
/// nested `remove`s do nothing, everything else is created.
fn build(ident: &Ident, edit: &Node, path: &mut Vec<Ident>) -> Result<Node, EditError> {
    let mut node = Node {
        value: edit.value.clone(),
        ..Node::empty(edit.name.clone())
    };
    for (child_ident, child) in &edit.children {
        path.push(child_ident.clone());
        let is_key = ident.key_names().any(|k| *k == child_ident.name);
        match child.op {
            Some(op) if is_key && op != Operation::Merge && op != Operation::Create => {
                return Err(EditError::new(
                    EditErrorTag::BadAttribute,
                    path,
                    "a list key can only be given, not changed or removed",
                ));
            }
            Some(Operation::Delete) => {
                return Err(EditError::new(
                    EditErrorTag::DataMissing,
                    path,
                    "data does not exist",
                ));
            }
            Some(Operation::Remove) => {}
            _ => {
                let built = build(child_ident, child, path)?;
                let only_led_to_removals = child.op.is_none()
                    && child.value.is_none()
                    && !child.children.is_empty()
                    && built.children.is_empty();
                if !only_led_to_removals {
                    node.children.insert(child_ident.clone(), built);
                }
            }
        }
        path.pop();
    }
    Ok(node)
}

fn only_removals(edit: &Node) -> bool {
    match edit.op {
        Some(Operation::Remove) => true,
        Some(_) => false,
        None => {
            edit.value.is_none()
                && !edit.children.is_empty()
                && edit.children.values().all(only_removals)
        }
    }
}
