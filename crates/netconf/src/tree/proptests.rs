//! Property tests of the tree operations over the generated configurations of
//! [`super::testing`].

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::testing::*;
use super::*;

const ALL_OPTIONS: [DiffOptions; 2] = [
    DiffOptions {
        new_entries: NewEntries::Create,
        removal: Removal::Remove,
    },
    DiffOptions {
        new_entries: NewEntries::Merge,
        removal: Removal::Delete,
    },
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn canonical_form_is_idempotent_and_layout_free(m in model(), shuffle in any::<bool>(), ws in any::<bool>()) {
        let tree = parse(&m);
        let layout = ConfigTree::parse(&render(&m, shuffle, ws), &schema()).unwrap();
        prop_assert_eq!(&layout, &tree);
        prop_assert_eq!(layout.digest(), tree.digest());
        let xml = tree.to_xml();
        let again = ConfigTree::parse(&xml, &schema()).unwrap();
        prop_assert_eq!(&again, &tree);
        prop_assert_eq!(again.to_xml(), xml);
        prop_assert_eq!(&ConfigTree::parse(&tree.to_xml_pretty(), &schema()).unwrap(), &tree);
    }

    #[test]
    fn diff_applied_to_previous_gives_desired(a in model(), b in model()) {
        let (a, b) = (parse(&a), parse(&b));
        for options in &ALL_OPTIONS {
            match diff_with(&a, &b, options) {
                None => prop_assert_eq!(&a, &b),
                Some(edit) => {
                    prop_assert_ne!(&a, &b);
                    let edit = edit_round_trip(&edit);
                    prop_assert_eq!(&apply_edit(&a, &edit, DefaultOperation::Merge).unwrap(), &b);
                    prop_assert_eq!(&apply_edit(&a, &edit, DefaultOperation::None).unwrap(), &b);
                }
            }
        }
        prop_assert!(diff(&a, &a).is_none());
    }

    #[test]
    fn reverse_after_apply_leaves_others_entries(a in model(), b in model()) {
        let (a, b) = (parse(&a), parse(&b));
        let fragments = [Fragment { owner: "a", tree: &a }, Fragment { owner: "b", tree: &b }];
        let Ok(state) = merge(&fragments, &PrefixMap::new()) else {
            return Ok(());
        };
        let others: BTreeSet<DataPath> = b.entries().into_iter().collect();
        let after = match reverse(&a, &others, Removal::Delete) {
            Some(edit) => apply_edit(&state, &edit_round_trip(&edit), DefaultOperation::Merge).unwrap(),
            None => state.clone(),
        };
        // Everything b owns is still there, unchanged.
        prop_assert!(compare(&b, &after).is_empty());
        // Every entry only a owned is gone.
        for entry in a.entries() {
            prop_assert_eq!(after.get(&entry).is_some(), others.contains(&entry));
        }
        // Remove-based reverse is idempotent: applying it twice is fine.
        if let Some(edit) = reverse(&a, &others, Removal::Remove) {
            let once = apply_edit(&state, &edit, DefaultOperation::Merge).unwrap();
            prop_assert_eq!(&apply_edit(&once, &edit, DefaultOperation::Merge).unwrap(), &once);
            prop_assert_eq!(&once, &after);
        }
    }

    #[test]
    fn merge_is_order_independent_without_conflicts(a in model(), b in model()) {
        let (a, b) = (parse(&a), parse(&b));
        let ab = merge(&[Fragment { owner: "a", tree: &a }, Fragment { owner: "b", tree: &b }], &PrefixMap::new());
        let ba = merge(&[Fragment { owner: "b", tree: &b }, Fragment { owner: "a", tree: &a }], &PrefixMap::new());
        match (ab, ba) {
            (Ok(ab), Ok(ba)) => {
                prop_assert_eq!(&ab, &ba);
                prop_assert!(compare(&a, &ab).is_empty());
                prop_assert!(compare(&b, &ab).is_empty());
            }
            (Err(MergeError::Conflict { .. }), Err(MergeError::Conflict { .. })) => {}
            (ab, ba) => prop_assert!(false, "merge order changed the outcome: {:?} / {:?}", ab, ba),
        }
    }

    #[test]
    fn repair_removes_all_drift(owned in model(), running in model()) {
        let (owned, running) = (parse(&owned), parse(&running));
        let drifts = compare(&owned, &running);
        match repair(&owned, &running) {
            None => prop_assert!(drifts.is_empty()),
            Some(edit) => {
                prop_assert!(!drifts.is_empty());
                let fixed = apply_edit(&running, &edit_round_trip(&edit), DefaultOperation::Merge).unwrap();
                prop_assert!(compare(&owned, &fixed).is_empty());
            }
        }
        prop_assert!(compare(&owned, &owned).is_empty());
    }

    #[test]
    fn prune_absent_keeps_edits_applicable(a in model(), b in model(), running in model()) {
        let (a, b, running) = (parse(&a), parse(&b), parse(&running));
        if let Some(edit) = diff_with(&a, &b, &ALL_OPTIONS[1]) {
            // Deletes of what `running` lacks would fail with data-missing; once pruned,
            // the merge-only edit applies to any device state.
            prop_assert!(apply_edit(&running, &edit, DefaultOperation::Merge).is_ok()
                || edit.tree.entries().iter().any(|e| running.get(e).is_none()));
            if let Some(pruned) = prune_absent(&edit, &running) {
                prop_assert!(apply_edit(&running, &pruned, DefaultOperation::Merge).is_ok());
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(input in "(<[a-z:]{0,4}( xmlns(:[a-z])?=\"urn:[a-c]\")?( nc:operation=\"[a-z]{0,6}\")?/?>|</[a-z:]{0,4}>|[a-z &;]{0,3}){0,30}") {
        let _ = ConfigTree::parse(&input, &schema());
        let _ = Edit::parse(&input, &schema());
        let _ = ConfigTree::parse_with(&input, &schema(), &crate::xml::XmlLimits::default(), ParseMode::Device);
    }
}
