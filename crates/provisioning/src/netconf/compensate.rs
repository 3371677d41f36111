//! The compensating edit of one owner's change on one device: the edit-config payload that
//! takes the device from the state after the change back to the state before it, for this
//! owner only. Running-only devices have no candidate to discard and no confirmed commit to
//! cancel; when a transaction fails after their edit, this payload undoes it (see
//! `docs/southbound.md`).
//!
//! Pure, built from the config-tree operations. With `after`, what the owner has once its edit
//! applied to what it had before (`previous`), the compensation is the diff from `after` to a
//! target that is:
//! - `after` without the entries the edit created ([`reverse`] with everything the owner had
//!   and everything others hold kept: entries others hold are never removed, but entries only
//!   this owner created below them are);
//! - with the owner's own entries (those nobody else holds) put back exactly as they were, so
//!   leaves the edit added, changed or removed there are undone;
//! - with all of `previous` merged over it, which restores entries the edit removed and the
//!   owner's values on entries it shares.
//!
//! So the compensation removes only entries the edit created and nodes inside the owner's own
//! entries; containers and leaves outside entries, and leaves the owner added to an entry
//! another owner holds, stay (as in [`reverse`]: the other owner may have set them too). New
//! nodes are written with `merge` and removals with `remove`: the payload never depends on
//! what may already be gone, and applying it twice, or where the edit never arrived, is
//! harmless.
//!
//! When only the owner's entries are known (its recorded configuration was lost), nothing can
//! be restored; the compensation then only removes the entries the edit created.

use std::collections::BTreeSet;

use super::plan::remove_at;
use ferrule_netconf::tree::{
    ConfigTree, DataPath, DefaultOperation, DiffOptions, Edit, EditError, NewEntries, Removal,
    apply_edit, diff_with, reverse,
};

/// How much of the owner's previous configuration on the device is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// All of it: the recorded configuration, checked against its digest.
    Everything,
    /// Only its entries' keys (the record was lost or does not match its digest).
    EntriesOnly,
}

/// The edit whose compensation was asked for does not apply to the configuration it was
/// planned from.
#[derive(Debug, thiserror::Error)]
#[error("cannot compute the compensating edit: {0}")]
pub struct CompensationError(#[source] pub EditError);

/// The edit undoing `edit`, which took the owner from `previous` to what it wants now, while
/// others hold the entries in `others`. `None` when there is nothing to undo.
///
/// Fails only when `edit` does not apply to `previous`, i.e. it was not planned from it.
pub fn compensation(
    previous: &ConfigTree,
    known: Known,
    edit: &Edit,
    others: &BTreeSet<DataPath>,
) -> Result<Option<Edit>, CompensationError> {
    let apply = |tree: &ConfigTree, edit: &Edit| {
        apply_edit(tree, edit, DefaultOperation::Merge).map_err(CompensationError)
    };
    let after = apply(previous, edit)?;
    let shared = with_entry_ancestors(others);
    let mut kept = shared.clone();
    kept.extend(previous.entries());
    let created = reverse(&after, &kept, Removal::Remove);
    if known == Known::EntriesOnly {
        return Ok(created);
    }
    let mut target = match &created {
        Some(removal) => apply(&after, removal)?,
        None => after.clone(),
    };
    for entry in after.entries() {
        if previous.get(&entry).is_some() && !shared.contains(&entry) {
            remove_at(&mut target, &entry);
        }
    }
    let target = apply(
        &target,
        &Edit {
            tree: previous.clone(),
        },
    )?;
    let options = DiffOptions {
        new_entries: NewEntries::Merge,
        removal: Removal::Remove,
    };
    Ok(diff_with(&after, &target, &options))
}

/// `paths` with every entry above them: whoever holds an entry below another holds that one
/// too, whatever its status recorded.
fn with_entry_ancestors(paths: &BTreeSet<DataPath>) -> BTreeSet<DataPath> {
    let mut out = BTreeSet::new();
    for path in paths {
        for (i, step) in path.steps.iter().enumerate() {
            if step.is_entry() {
                out.insert(DataPath {
                    steps: path.steps[..=i].to_vec(),
                });
            }
        }
        out.insert(path.clone());
    }
    out
}

#[cfg(test)]
#[path = "compensate_tests.rs"]
mod tests;
