//! Reading a whole list that an API serves in pages, so that what a command
//! decides from is one consistent list or an error, never a partial one.
//!
//! Pages are read one request at a time, and the list may change between two
//! of them. With offsets, one object created and another deleted between two
//! pages (`total` unchanged) moves an object from the page not read yet into
//! one already read: it is skipped, and a plan would create it again. A
//! cursor that is an offset in disguise does the same. So:
//!
//! - a list that came in one answer is one moment of the server: taken as is;
//! - a cursor that names the last object of its page (keyset paging) resumes
//!   after that object, wherever others were created or deleted: one read of
//!   such a list is consistent;
//! - any other list of several pages (offsets, opaque cursors) is read again
//!   from the start until two reads in a row list the same ids. A read
//!   during which `total` moved, or in which a page brought nothing new
//!   (the list moved by a whole page, or the server ignores `offset`), never
//!   counts. After [`LIST_READS`] reads without agreement the list is
//!   [`ApiError::Unsettled`].
//!
//! Without concurrent changes a list of one page costs one request, and a
//! list of `n` offset or opaque-cursor pages `2n`.

use std::collections::HashSet;
use std::future::Future;

use super::error::ApiError;

/// How many times a list is read from the start, at most, before it is
/// declared unsettled.
pub const LIST_READS: u32 = 5;
/// Pages of one read of a list, at most (a server whose list never ends).
const MAX_PAGES: usize = 10_000;

/// An object with a server id: what two reads of a list are compared by.
pub trait Identified {
    fn id(&self) -> &str;
}

/// One page, as a platform's endpoint method decoded it.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Offset paging: the size of the whole list, when the answer says it.
    pub total: Option<u64>,
    /// Cursor paging: the next page's cursor (`None` or empty: the last page).
    pub next: Option<String>,
}

/// One read of a list from its first page to its last.
struct Read<T> {
    items: Vec<T>,
    pages: usize,
    /// Every cursor named the last object of its page.
    keyset: bool,
    /// Why this read cannot be trusted (`None`: nothing seen moved).
    moved: Option<String>,
}

/// Every object of an offset-paged list at `path`: `fetch(offset)` reads
/// the page there (of any size the server chooses). Consistent as the
/// module says.
pub async fn read_offset_list<T, F, Fut>(path: &str, mut fetch: F) -> Result<Vec<T>, ApiError>
where
    T: Identified,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut settling = Settling::default();
    for _ in 0..LIST_READS {
        let read = offset_read(path, &mut fetch).await?;
        if let Some(items) = settling.accept(read) {
            return Ok(items);
        }
    }
    Err(settling.unsettled(path))
}

/// Every object of a cursor-paged list at `path`: `fetch(cursor)` reads the
/// page at `cursor` (`None`: the first). `first_seen` is called once per id,
/// as soon as a page shows it, so a caller can start work on an object
/// before the last page; only the returned list is the list, though (an
/// object seen by a read that did not count may be gone from it).
pub async fn read_cursor_list<T, F, Fut>(
    path: &str,
    mut fetch: F,
    mut first_seen: impl FnMut(&T),
) -> Result<Vec<T>, ApiError>
where
    T: Identified,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut settling = Settling::default();
    let mut announced: HashSet<String> = HashSet::new();
    for _ in 0..LIST_READS {
        let read = cursor_read(path, &mut fetch, |item: &T| {
            if announced.insert(item.id().to_string()) {
                first_seen(item);
            }
        })
        .await?;
        if let Some(items) = settling.accept(read) {
            return Ok(items);
        }
    }
    Err(settling.unsettled(path))
}

/// The reads of one list so far, and whether the last two agree.
#[derive(Default)]
struct Settling {
    reads: u32,
    /// Sorted ids of the last read that counted.
    previous: Option<Vec<String>>,
    /// Why the last read was not taken.
    why: String,
}

impl Settling {
    /// The list, when `read` settles it.
    fn accept<T: Identified>(&mut self, read: Read<T>) -> Option<Vec<T>> {
        self.reads += 1;
        if let Some(why) = read.moved {
            self.why = why;
            self.previous = None;
            return None;
        }
        if read.pages <= 1 || read.keyset {
            return Some(read.items);
        }
        let mut ids: Vec<String> = read.items.iter().map(|i| i.id().to_string()).collect();
        ids.sort_unstable();
        if self.previous.as_ref() == Some(&ids) {
            return Some(read.items);
        }
        if let Some(before) = &self.previous {
            self.why = format!(
                "two reads in a row listed different objects ({} and {})",
                before.len(),
                ids.len()
            );
        }
        self.previous = Some(ids);
        None
    }

    fn unsettled(&self, path: &str) -> ApiError {
        ApiError::Unsettled {
            path: path.to_string(),
            reads: self.reads,
            why: self.why.clone(),
        }
    }
}

fn endless(path: &str) -> ApiError {
    ApiError::decode("GET", path, format!("no last page after {MAX_PAGES} pages"))
}

/// One read of an offset list: until `offset >= total` (or an empty page
/// when the server says no total), stopping early once it moved.
async fn offset_read<T, F, Fut>(path: &str, fetch: &mut F) -> Result<Read<T>, ApiError>
where
    T: Identified,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut items: Vec<T> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut offset = 0u64;
    let mut first_total: Option<Option<u64>> = None;
    for pages in 1..=MAX_PAGES {
        let page = fetch(offset).await?;
        let got = page.items.len() as u64;
        let mut new = 0;
        for item in page.items {
            if seen.insert(item.id().to_string()) {
                items.push(item);
                new += 1;
            }
        }
        let at = offset;
        offset += got;
        // Without a total, only an empty page ends the list: a server may
        // cap its pages below `limit` (a short page is not the last one).
        let done = got == 0 || page.total.is_some_and(|total| offset >= total);
        let moved = match first_total {
            None => {
                first_total = Some(page.total);
                None
            }
            Some(first) if first != page.total => Some(format!(
                "its total moved from {} to {} while it was read",
                shown(first),
                shown(page.total)
            )),
            Some(_) if new == 0 && !done => Some(format!(
                "the page at offset {at} held only objects already read \
                 (the list moved by a whole page, or the server ignores `offset`)"
            )),
            Some(_) => None,
        };
        if moved.is_some() || done {
            return Ok(Read {
                items,
                pages,
                keyset: false,
                moved,
            });
        }
    }
    Err(endless(path))
}

fn shown(total: Option<u64>) -> String {
    total.map_or_else(|| "none".into(), |t| t.to_string())
}

/// One read of a cursor list: until a page has no next cursor. A cursor
/// that comes back is an error (stopping there would drop every object
/// after it; following it would never end).
async fn cursor_read<T, F, Fut>(
    path: &str,
    fetch: &mut F,
    mut first_seen: impl FnMut(&T),
) -> Result<Read<T>, ApiError>
where
    T: Identified,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut items: Vec<T> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursors: HashSet<String> = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut keyset = true;
    for pages in 1..=MAX_PAGES {
        let page = fetch(cursor.take()).await?;
        let last = page.items.last().map(|i| i.id().to_string());
        for item in page.items {
            if seen.insert(item.id().to_string()) {
                first_seen(&item);
                items.push(item);
            }
        }
        match page.next.filter(|n| !n.is_empty()) {
            None => {
                return Ok(Read {
                    items,
                    pages,
                    keyset,
                    moved: None,
                })
            }
            Some(next) if cursors.insert(next.clone()) => {
                keyset &= last.as_deref() == Some(next.as_str());
                cursor = Some(next);
            }
            Some(next) => {
                return Err(ApiError::Decode {
                    message: format!("the server repeated the page cursor `{next}`"),
                    method: "GET".into(),
                    path: path.to_string(),
                })
            }
        }
    }
    Err(endless(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug, Clone, PartialEq)]
    struct Obj(String);

    impl Identified for Obj {
        fn id(&self) -> &str {
            &self.0
        }
    }

    type Change = dyn Fn(usize, &mut Vec<String>) + Send + Sync;

    /// A list on a server: `change` runs after each page is served (the
    /// page number, 1-based over the whole test, and the list).
    struct Server {
        list: Mutex<Vec<String>>,
        served: Mutex<usize>,
        change: Box<Change>,
        total: bool,
    }

    impl Server {
        fn new(n: usize, change: impl Fn(usize, &mut Vec<String>) + Send + Sync + 'static) -> Self {
            Server {
                list: Mutex::new((0..n).map(|i| format!("o{i:04}")).collect()),
                served: Mutex::new(0),
                change: Box::new(change),
                total: true,
            }
        }

        fn served(&self) -> usize {
            *self.served.lock().unwrap()
        }

        fn ids(&self) -> Vec<String> {
            let mut l = self.list.lock().unwrap().clone();
            l.sort();
            l
        }

        /// Objects from `start`, at most `limit`; then the change.
        fn serve(&self, start: usize, limit: usize) -> (Vec<Obj>, usize) {
            let mut list = self.list.lock().unwrap();
            let items = list
                .iter()
                .skip(start)
                .take(limit)
                .map(|s| Obj(s.clone()))
                .collect();
            let total = list.len();
            let mut served = self.served.lock().unwrap();
            *served += 1;
            (self.change)(*served, &mut list);
            (items, total)
        }

        async fn offset(&self, offset: u64) -> Result<Page<Obj>, ApiError> {
            let (items, total) = self.serve(offset as usize, 10);
            Ok(Page {
                items,
                total: self.total.then_some(total as u64),
                next: None,
            })
        }

        /// A cursor that is an offset in disguise (`c20`).
        async fn opaque(&self, cursor: Option<String>) -> Result<Page<Obj>, ApiError> {
            let start = cursor
                .and_then(|c| c.strip_prefix('c').and_then(|n| n.parse().ok()))
                .unwrap_or(0);
            let (items, total) = self.serve(start, 10);
            let end = start + items.len();
            Ok(Page {
                items,
                total: None,
                next: (end < total).then(|| format!("c{end}")),
            })
        }

        /// A cursor naming the last object of the page (keyset).
        async fn keyset(&self, cursor: Option<String>) -> Result<Page<Obj>, ApiError> {
            let start = match &cursor {
                None => 0,
                Some(c) => {
                    let list = self.list.lock().unwrap();
                    list.iter().take_while(|id| *id <= c).count()
                }
            };
            let (items, total) = self.serve(start, 10);
            let more = start + items.len() < total;
            let next = items.last().filter(|_| more).map(|o| o.0.clone());
            Ok(Page {
                items,
                total: None,
                next,
            })
        }
    }

    /// After the first page: one object created at the end, one deleted at
    /// the front (the count does not move).
    fn create_and_delete(page: usize, list: &mut Vec<String>) {
        if page == 1 {
            list.remove(0);
            list.push("o9999".into());
        }
    }

    fn ids(items: &[Obj]) -> Vec<String> {
        let mut v: Vec<String> = items.iter().map(|o| o.0.clone()).collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn a_create_and_a_delete_between_offset_pages_skip_nothing() {
        let s = Server::new(25, create_and_delete);
        let got = read_offset_list("/x", |o| s.offset(o)).await.unwrap();
        assert_eq!(ids(&got), s.ids(), "o0010 was skipped by the first read");
        // A read that skipped one, then two that agree.
        assert_eq!(s.served(), 9);
    }

    #[tokio::test]
    async fn a_quiet_list_costs_one_page_or_two_reads() {
        let s = Server::new(7, |_, _| {});
        let got = read_offset_list("/x", |o| s.offset(o)).await.unwrap();
        assert_eq!((got.len(), s.served()), (7, 1));
        let s = Server::new(25, |_, _| {});
        let got = read_offset_list("/x", |o| s.offset(o)).await.unwrap();
        assert_eq!((got.len(), s.served()), (25, 6));
        let mut s = Server::new(20, |_, _| {});
        s.total = false;
        let got = read_offset_list("/x", |o| s.offset(o)).await.unwrap();
        assert_eq!(got.len(), 20);
    }

    /// Attack review F13: a server that caps its pages below the asked
    /// `limit` and says no total: a short page is not the end.
    #[tokio::test]
    async fn a_capped_page_without_a_total_is_not_the_last() {
        let mut s = Server::new(25, |_, _| {});
        s.total = false;
        let got = read_offset_list("/x", |o| s.offset(o)).await.unwrap();
        assert_eq!(got.len(), 25);
    }

    #[tokio::test]
    async fn a_list_that_never_settles_is_an_error_never_a_partial_list() {
        let s = Server::new(25, |_, list| {
            let n = list.len();
            list.push(format!("n{n:04}"));
        });
        let err = read_offset_list("/x", |o| s.offset(o)).await.unwrap_err();
        assert!(
            matches!(
                &err,
                ApiError::Unsettled {
                    reads: LIST_READS,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("/x"), "{err}");
        // The same with a count that never moves: one created, one deleted.
        let s = Server::new(25, |page, list| {
            list.remove(0);
            list.push(format!("n{page:04}"));
        });
        let err = read_opaque(&s).await.unwrap_err();
        assert!(matches!(err, ApiError::Unsettled { .. }), "{err}");
    }

    async fn read_opaque(s: &Server) -> Result<Vec<Obj>, ApiError> {
        read_cursor_list("/x", |c| s.opaque(c), |_| {}).await
    }

    #[tokio::test]
    async fn a_server_ignoring_offset_is_named_not_followed() {
        let s = Server::new(25, |_, _| {});
        let err = read_offset_list("/x", |_| s.offset(0)).await.unwrap_err();
        assert!(err.to_string().contains("ignores `offset`"), "{err}");
        assert_eq!(s.served(), 2 * LIST_READS as usize);
    }

    #[tokio::test]
    async fn an_opaque_cursor_is_read_until_two_reads_agree() {
        let s = Server::new(25, create_and_delete);
        let got = read_opaque(&s).await.unwrap();
        assert_eq!(ids(&got), s.ids());
        assert_eq!(s.served(), 9);
    }

    #[tokio::test]
    async fn a_keyset_cursor_is_read_once_whatever_changes() {
        let s = Server::new(25, create_and_delete);
        let mut first = Vec::new();
        let got = read_cursor_list("/x", |c| s.keyset(c), |o: &Obj| first.push(o.0.clone()))
            .await
            .unwrap();
        assert_eq!(s.served(), 3);
        // Everything there throughout the read is there (o0010 too); o0000
        // was read before it went, o9999 after it came.
        let mut expected = s.ids();
        expected.insert(0, "o0000".into());
        assert_eq!(ids(&got), expected);
        assert_eq!(first.len(), got.len(), "each object announced once");
    }

    #[tokio::test]
    async fn a_repeated_cursor_is_an_error() {
        let s = Server::new(25, |_, _| {});
        let err = read_cursor_list("/x", |c| s.opaque(c.map(|_| "c10".into())), |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Decode { .. }), "{err}");
        assert!(
            err.to_string().contains("repeated the page cursor"),
            "{err}"
        );
    }
}
