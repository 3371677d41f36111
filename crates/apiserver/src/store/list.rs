//! Lists: filtered, paginated reads of one resource at one consistent snapshot.

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::continue_token::ContinueToken;
use super::key::{from_sql, to_sql};
use super::labels;
use super::ops::parse_stored;
use super::schema::{KIND_DELETED, read_meta};
use super::{ObjectKey, Store, StoreError};
use crate::field_selector::FieldSelector;
use crate::selector::LabelSelector;

/// Rows fetched per query while scanning.
const CHUNK: usize = 500;

/// Which snapshot a list reads (Kubernetes `resourceVersion` + `resourceVersionMatch`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListVersion {
    /// The newest state (`resourceVersion` unset, `""` or `"0"`).
    #[default]
    Latest,
    /// The newest state, which must be at least this version (`resourceVersion=N`, match
    /// `NotOlderThan` or unset); newer than the store gives
    /// [`StoreError::TooLargeResourceVersion`].
    NotOlderThan(u64),
    /// The state exactly at this version (`resourceVersionMatch=Exact`); compacted versions
    /// give [`StoreError::Expired`].
    Exact(u64),
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Resource key, e.g. `"bss.ferrule.dev/customers"`.
    pub resource: String,
    /// Only this namespace; `None` lists all namespaces (and cluster-scoped objects).
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub label_selector: LabelSelector,
    /// `fieldSelector`.
    pub field_selector: FieldSelector,
    /// Most items per page; `None` or `Some(0)` returns everything.
    pub limit: Option<usize>,
    /// The `continue` token of the previous page.
    pub continue_token: Option<String>,
    /// Which snapshot; must be `Latest` together with a continue token.
    pub version: ListVersion,
}

impl ListOptions {
    /// Everything in `resource`, newest state, one page.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            ..Self::default()
        }
    }
}

/// One page of a list: objects as [`Value`]s, or as their stored JSON text
/// ([`Store::list_json`]).
#[derive(Debug, Clone)]
pub struct ListResult<T = Value> {
    /// The objects, ordered by namespace then name.
    pub items: Vec<T>,
    /// The snapshot's version (the list's `metadata.resourceVersion`): watching from it
    /// delivers exactly the changes after this page's state.
    pub resource_version: u64,
    /// Token for the next page, `None` on the last one.
    pub continue_token: Option<String>,
}

/// Label and field selectors together.
#[derive(Debug, Clone, Default)]
pub(super) struct Filter {
    pub label: LabelSelector,
    pub field: FieldSelector,
}

impl Filter {
    /// True when it selects everything.
    pub fn is_empty(&self) -> bool {
        self.label.is_empty() && self.field.is_empty()
    }

    /// Whether an object is selected.
    pub fn matches(&self, object: &Value) -> bool {
        self.label.matches_object(object) && self.field.matches_object(object)
    }
}

/// What a list item is made of a stored row.
pub(super) trait Item: Sized {
    /// The item for the stored object `text` at version `rv`, or `None` when `filter` does
    /// not select it.
    fn from_row(rv: u64, text: String, filter: &Filter) -> Result<Option<Self>, StoreError>;
}

impl Item for Value {
    fn from_row(rv: u64, text: String, filter: &Filter) -> Result<Option<Self>, StoreError> {
        let object = parse_stored(rv, &text)?;
        Ok(filter.matches(&object).then_some(object))
    }
}

/// The stored JSON text (it carries its `metadata.resourceVersion`): nothing is parsed when
/// there is no selector.
impl Item for String {
    fn from_row(rv: u64, text: String, filter: &Filter) -> Result<Option<Self>, StoreError> {
        if filter.is_empty() {
            return Ok(Some(text));
        }
        let object = parse_stored(rv, &text)?;
        Ok(filter.matches(&object).then_some(text))
    }
}

/// Which snapshot a page is read at.
#[derive(Debug, Clone, Copy)]
pub(super) enum Snapshot {
    List(ListVersion),
    /// A continue token's snapshot.
    Continue(u64),
}

/// A page request, shared by lists and the initial events of watches.
#[derive(Debug)]
pub(super) struct PageRequest<'a> {
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
    pub filter: &'a Filter,
    pub snapshot: Snapshot,
    /// Start after this `(namespace, name)`.
    pub after: Option<(String, String)>,
    pub limit: Option<usize>,
}

/// A page read.
#[derive(Debug)]
pub(super) struct Page<T = Value> {
    pub items: Vec<T>,
    pub rv: u64,
    /// The last key returned, when more rows follow.
    pub next: Option<(String, String)>,
}

impl Store {
    /// Lists one resource. The result is one consistent snapshot; with `limit`, pages that
    /// follow a continue token read the same snapshot until it is compacted.
    pub async fn list(&self, options: &ListOptions) -> Result<ListResult, StoreError> {
        self.list_items(options).await
    }

    /// Like [`Store::list`], with every object as its stored JSON text instead of a parsed
    /// [`Value`]: a server can copy it into its response as it is, which saves parsing and
    /// serialising large lists.
    pub async fn list_json(&self, options: &ListOptions) -> Result<ListResult<String>, StoreError> {
        self.list_items(options).await
    }

    async fn list_items<T: Item>(
        &self,
        options: &ListOptions,
    ) -> Result<ListResult<T>, StoreError> {
        self.ensure_open()?;
        let (snapshot, after) = match &options.continue_token {
            Some(text) => {
                if options.version != ListVersion::Latest {
                    return Err(StoreError::InvalidContinue {
                        reason: "a resourceVersion cannot be given together with continue",
                    });
                }
                let token = ContinueToken::decode(text)?;
                (Snapshot::Continue(token.rv), Some((token.ns, token.name)))
            }
            None => (Snapshot::List(options.version), None),
        };
        let filter = Filter {
            label: options.label_selector.clone(),
            field: options.field_selector.clone(),
        };
        let page = read_page(
            self.readers(),
            PageRequest {
                resource: &options.resource,
                namespace: options.namespace.as_deref(),
                filter: &filter,
                snapshot,
                after,
                limit: options.limit.filter(|l| *l > 0),
            },
        )
        .await?;
        Ok(ListResult {
            items: page.items,
            resource_version: page.rv,
            continue_token: page
                .next
                .map(|(ns, name)| ContinueToken::new(page.rv, ns, name).encode()),
        })
    }
}

impl Store {
    /// The keys of every live object in `namespace`, of any resource, ordered by resource
    /// then name: what deleting a namespace must remove.
    pub async fn keys_in_namespace(&self, namespace: &str) -> Result<Vec<ObjectKey>, StoreError> {
        self.ensure_open()?;
        let rows = sqlx::query(
            "SELECT resource, name FROM current WHERE namespace = ?1 ORDER BY resource, name",
        )
        .bind(namespace)
        .fetch_all(self.readers())
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(ObjectKey {
                    resource: row.try_get(0)?,
                    namespace: namespace.to_string(),
                    name: row.try_get(1)?,
                })
            })
            .collect()
    }
}

/// Reads one page inside one read transaction, so the counters, the horizon check and the
/// rows all come from the same snapshot of the database.
pub(super) async fn read_page<T: Item>(
    pool: &SqlitePool,
    request: PageRequest<'_>,
) -> Result<Page<T>, StoreError> {
    let mut tx = pool.begin().await?;
    let meta = read_meta(&mut tx).await?;
    let rv = match request.snapshot {
        Snapshot::List(ListVersion::Latest) => meta.last_rv,
        Snapshot::List(ListVersion::NotOlderThan(n)) => {
            if n > meta.last_rv {
                return Err(StoreError::TooLargeResourceVersion {
                    requested: n,
                    current: meta.last_rv,
                });
            }
            meta.last_rv
        }
        Snapshot::List(ListVersion::Exact(n)) => {
            if n < meta.horizon {
                return Err(StoreError::Expired {
                    requested: n,
                    oldest: meta.horizon,
                });
            }
            if n > meta.last_rv {
                return Err(StoreError::TooLargeResourceVersion {
                    requested: n,
                    current: meta.last_rv,
                });
            }
            n
        }
        Snapshot::Continue(n) => {
            if n < meta.horizon {
                return Err(StoreError::ContinueExpired {
                    requested: n,
                    oldest: meta.horizon,
                });
            }
            if n > meta.last_rv {
                return Err(StoreError::InvalidContinue {
                    reason: "the token's snapshot is newer than this store",
                });
            }
            n
        }
    };
    // The current-state index holds the snapshot when nothing of this resource was written
    // after it; otherwise the state at `rv` is read from the log.
    let from_current =
        rv == meta.last_rv || resource_last_rv(&mut tx, request.resource).await? <= rv;
    let indexed = from_current
        .then(|| labels::indexed_requirement(&request.filter.label))
        .flatten();
    let mut cursor = request.after.unwrap_or_default();
    let chunk = request
        .limit
        .map_or(CHUNK, |l| l.saturating_add(1).min(CHUNK));
    let mut items = Vec::new();
    let mut more = false;
    'scan: loop {
        let rows = fetch_rows(
            &mut tx,
            from_current,
            indexed,
            request.resource,
            request.namespace,
            &cursor,
            rv,
            chunk,
        )
        .await?;
        let exhausted = rows.len() < chunk;
        for row in rows {
            if request.limit.is_some_and(|limit| items.len() >= limit) {
                more = true;
                break 'scan;
            }
            let item = T::from_row(row.rv, row.object, request.filter)?;
            cursor = (row.namespace, row.name);
            items.extend(item);
        }
        if exhausted {
            break;
        }
    }
    tx.commit().await?;
    Ok(Page {
        items,
        rv,
        next: more.then_some(cursor),
    })
}

async fn resource_last_rv(conn: &mut SqliteConnection, resource: &str) -> Result<u64, StoreError> {
    let row = sqlx::query("SELECT MAX(rv) FROM log WHERE resource = ?1")
        .bind(resource)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?.map_or(0, from_sql))
}

struct Row_ {
    rv: u64,
    namespace: String,
    name: String,
    object: String,
}

const CURRENT_ALL: &str = "SELECT l.rv, c.namespace, c.name, l.object
    FROM current c JOIN log l ON l.rv = c.rv
    WHERE c.resource = ?1 AND (c.namespace, c.name) > (?2, ?3)
    ORDER BY c.namespace, c.name LIMIT ?4";

const CURRENT_NS: &str = "SELECT l.rv, c.namespace, c.name, l.object
    FROM current c JOIN log l ON l.rv = c.rv
    WHERE c.resource = ?1 AND c.namespace = ?2 AND c.name > ?3
    ORDER BY c.name LIMIT ?4";

const SNAPSHOT_ALL: &str = "SELECT l.rv, l.namespace, l.name, l.object FROM log l
    WHERE l.resource = ?1 AND (l.namespace, l.name) > (?2, ?3) AND l.rv <= ?5 AND l.kind != ?6
      AND NOT EXISTS (SELECT 1 FROM log n WHERE n.prev_rv = l.rv AND n.rv <= ?5)
    ORDER BY l.namespace, l.name LIMIT ?4";

const SNAPSHOT_NS: &str = "SELECT l.rv, l.namespace, l.name, l.object FROM log l
    WHERE l.resource = ?1 AND l.namespace = ?2 AND l.name > ?3 AND l.rv <= ?5 AND l.kind != ?6
      AND NOT EXISTS (SELECT 1 FROM log n WHERE n.prev_rv = l.rv AND n.rv <= ?5)
    ORDER BY l.name LIMIT ?4";

/// The next `limit` rows after `cursor` in key order, at snapshot `rv`; with `indexed`
/// (current state only), only objects carrying that label.
#[allow(clippy::too_many_arguments)]
async fn fetch_rows(
    conn: &mut SqliteConnection,
    from_current: bool,
    indexed: Option<(&str, &str)>,
    resource: &str,
    namespace: Option<&str>,
    cursor: &(String, String),
    rv: u64,
    limit: usize,
) -> Result<Vec<Row_>, StoreError> {
    let (sql, ns, after_name) = match namespace {
        None => (
            match (from_current, indexed) {
                (true, Some(_)) => labels::CURRENT_ALL,
                (true, None) => CURRENT_ALL,
                (false, _) => SNAPSHOT_ALL,
            },
            cursor.0.as_str(),
            cursor.1.as_str(),
        ),
        Some(ns) => {
            // Resume inside the namespace, from its start, or not at all, depending on where
            // the cursor lies relative to it.
            let after_name = match cursor.0.as_str().cmp(ns) {
                std::cmp::Ordering::Less => "",
                std::cmp::Ordering::Equal => cursor.1.as_str(),
                std::cmp::Ordering::Greater => return Ok(Vec::new()),
            };
            (
                match (from_current, indexed) {
                    (true, Some(_)) => labels::CURRENT_NS,
                    (true, None) => CURRENT_NS,
                    (false, _) => SNAPSHOT_NS,
                },
                ns,
                after_name,
            )
        }
    };
    let rows = sqlx::query(sql)
        .bind(resource)
        .bind(ns)
        .bind(after_name)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(to_sql(rv))
        .bind(KIND_DELETED)
        .bind(indexed.map(|(k, _)| k))
        .bind(indexed.map(|(_, v)| v))
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Row_ {
                rv: from_sql(row.try_get(0)?),
                namespace: row.try_get(1)?,
                name: row.try_get(2)?,
                object: row.try_get(3)?,
            })
        })
        .collect()
}
