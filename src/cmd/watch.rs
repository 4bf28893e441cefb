//! `gazette build --watch`: a save is noticed as it happens, so that the feeds are rebuilt within
//! about a build's time of it (issue #15: 100 ms at 10,000 posts, beside `jekyll serve`).
//!
//! The system tells of each change (the `notify` crate: inotify on Linux, FSEvents on macOS,
//! ReadDirectoryChangesW on Windows; the crate Zola and mdBook use): nothing is looked at while
//! the site is quiet, and a save starts a build after a settle time ([`SETTLE`]) instead of
//! after one or two 100 ms looks over every file. What is watched are the site's inputs: the
//! site folder itself (its files: the settings), and, each with all below it, its folders but
//! the hidden ones (`.git`, and `.gazette` where gazette keeps its caches and state), Jekyll's
//! destination (`_site`) and the output folder, where builds write: their own writes must not
//! start another build (and `_site`, written by `jekyll serve`, can hold a folder per post);
//! nor `node_modules` and `vendor`, which no build reads.
//!
//! A change made during a build waits in the watcher's queue, so it starts another build after
//! that one: [`Watcher`] is made once, before the first build.
//!
//! When the system cannot watch (inotify's watch limit, a file system that gives no events), a
//! line on standard error says so and the inputs are looked at every 100 ms instead
//! ([`fingerprint`], [`next_change`]), as before.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use super::output::errln;

/// How often the inputs are looked at when the system cannot tell of changes.
const EVERY: Duration = Duration::from_millis(100);

/// How long the inputs must stay quiet after a change before the build starts. Editors save a
/// file in several steps: truncate then write, or write a temporary file then rename it over the
/// post (Vim also moves the old file aside first); these steps come within a millisecond or so
/// of each other (more only when a slow disk makes an fsync between two of them wait), so 25 ms
/// of quiet means the save is done, and it is a quarter of the 100 ms budget, which leaves the
/// rest to the build. A save slower than that costs one more build, never a wrong feed: its last
/// step is a change that starts a build of its own, after the one that read the half-saved file.
const SETTLE: Duration = Duration::from_millis(25);

/// The longest a build waits for the inputs to settle, after the first change: a tree that
/// changes all the time (a script writing posts, a `git checkout` of many files) is still built,
/// half a second after it began to change at the latest.
const LONGEST: Duration = Duration::from_millis(500);

/// What is an input of a build: every path below the site folder, but for hidden entries
/// (`.git`, `.gazette`), Jekyll's destination (`_site`), the output folder, and `node_modules`
/// and `vendor` (Jekyll's default excludes, which the build's state leaves out too: see
/// src/collect/inputs.rs; `vendor/bundle` alone can hold thousands of folders to watch).
#[derive(Clone, Debug)]
struct Inputs {
    /// The site folder as given.
    site: PathBuf,
    /// The site folder as the system resolves it: `--site .` with `--out feeds` names one folder.
    root: PathBuf,
    /// The folders builds write into (gazette's output and cache folders, Jekyll's
    /// destination), as the system resolves them (they need not exist yet).
    written: Vec<PathBuf>,
}

impl Inputs {
    fn new(site: &Path, written: &[PathBuf]) -> Inputs {
        let root = site.canonicalize().unwrap_or_else(|_| site.to_path_buf());
        // A folder that holds the whole site (`destination: .`) would leave nothing watched.
        let written = written
            .iter()
            .map(|w| resolve(w))
            .filter(|w| !root.starts_with(w))
            .collect();
        Inputs {
            site: site.to_path_buf(),
            root,
            written,
        }
    }

    /// Whether `rest`, a path relative to the site folder, is an input.
    fn holds_relative(&self, rest: &Path) -> bool {
        let mut parts = rest.components();
        let Some(first) = parts.next() else {
            // The site folder itself.
            return false;
        };
        if first.as_os_str() == "_site" {
            return false;
        }
        if rest.components().any(|c| {
            let name = c.as_os_str();
            name.as_encoded_bytes().starts_with(b".") || name == "node_modules" || name == "vendor"
        }) {
            return false;
        }
        let path = self.root.join(rest);
        !self.written.iter().any(|w| path.starts_with(w))
    }

    /// Whether `path`, below the resolved site folder (as the watcher names paths), is an input.
    fn holds(&self, path: &Path) -> bool {
        path.strip_prefix(&self.root)
            .is_ok_and(|rest| self.holds_relative(rest))
    }

    /// Whether `path` is an input right in the site folder (a folder there is watched alone).
    fn holds_at_top(&self, path: &Path) -> bool {
        path.parent() == Some(self.root.as_path()) && self.holds(path)
    }

    fn fingerprint(&self) -> u64 {
        let mut hasher = rustc_hash::FxHasher::default();
        // Links followed, as the build follows them (a linked `_posts` or include).
        let walk = walkdir::WalkDir::new(&self.site)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0
                    || e.path()
                        .strip_prefix(&self.site)
                        .is_ok_and(|rest| self.holds_relative(rest))
            });
        for entry in walk.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            entry.path().hash(&mut hasher);
            meta.len().hash(&mut hasher);
            if let Ok(modified) = meta.modified() {
                modified.hash(&mut hasher);
            }
        }
        hasher.finish()
    }
}

/// `path` as the system resolves it, for a path that need not exist yet: its longest existing
/// beginning resolved, and the rest as written.
fn resolve(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut at = path;
    loop {
        if let Ok(real) = at.canonicalize() {
            return rest.iter().rev().fold(real, |real, part| real.join(part));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                at = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// A hash of the site's inputs: every file's path, size and modification time, below the site
/// folder, but for hidden entries (`.git`, `.gazette`), Jekyll's destination (`_site`) and the
/// output folder, where builds write (their own writes must not start another build), and
/// `node_modules` and `vendor`, which no build reads.
pub fn fingerprint(site: &Path, written: &[PathBuf]) -> u64 {
    Inputs::new(site, written).fingerprint()
}

/// Waits until the inputs differ from `seen` and then stay the same for one more look (an
/// editor that writes a file in several steps gives one build), and gives the new fingerprint.
pub fn next_change(site: &Path, written: &[PathBuf], seen: u64) -> u64 {
    let mut last = seen;
    loop {
        std::thread::sleep(EVERY);
        let now = fingerprint(site, written);
        if now != seen && now == last {
            return now;
        }
        last = now;
    }
}

/// What the watcher's thread hands on, of the events the system tells of.
enum Signal {
    /// An input changed, at `at` (when the event came). `top`: the input right in the site
    /// folder that was made or moved there, which may be a folder to watch.
    Changed { at: Instant, top: Option<PathBuf> },
    /// The system dropped events (inotify's queue overflowed): anything may have changed.
    Lost(Instant),
    /// Watching went wrong (e.g. the watch limit, reached by a new folder).
    Broken(String),
}

/// The signal an event from the system gives, if any: `None` for what is no change of an
/// input (a file read: the builds read every input; a write in `_site` or the output folder).
fn signal(inputs: &Inputs, event: notify::Result<notify::Event>) -> Option<Signal> {
    let event = match event {
        Ok(event) => event,
        Err(e) => return Some(Signal::Broken(e.to_string())),
    };
    let at = Instant::now();
    if event.need_rescan() {
        return Some(Signal::Lost(at));
    }
    match event.kind {
        // A writer closed the file: its last step.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        // Opened, read, closed after reading: no change.
        EventKind::Access(_) => return None,
        _ => {}
    }
    let mut ours = event.paths.iter().filter(|p| inputs.holds(p)).peekable();
    ours.peek()?;
    let made = matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
    );
    let top = if made {
        ours.find(|p| inputs.holds_at_top(p)).cloned()
    } else {
        None
    };
    Some(Signal::Changed { at, top })
}

/// Watching through the system's events.
struct Events {
    watcher: RecommendedWatcher,
    signals: Receiver<Signal>,
    /// The inputs' fingerprint when events were last lost: a loss with the inputs as they were
    /// then starts no build (a build that reads every post, `--no-cache`, can overflow the
    /// queue with its own reads, and must not start itself again).
    after_loss: Option<u64>,
}

impl Events {
    fn start(inputs: &Inputs) -> notify::Result<Events> {
        let (send, signals) = mpsc::channel();
        let filter = inputs.clone();
        let mut watcher = notify::recommended_watcher(move |event| {
            if let Some(signal) = signal(&filter, event) {
                // The receiver is gone only when gazette stops.
                let _ = send.send(signal);
            }
        })?;
        // The site folder alone, then each input folder in it with all below it: `_site`, the
        // output folder and the hidden ones are not watched at all (inotify needs a watch for
        // each folder, counted against a limit per user, and `_site` can hold a folder per post).
        watcher.watch(&inputs.root, RecursiveMode::NonRecursive)?;
        for entry in std::fs::read_dir(&inputs.root).map_err(notify::Error::io)? {
            let path = entry.map_err(notify::Error::io)?.path();
            if inputs.holds(&path) && path.is_dir() {
                watcher.watch(&path, RecursiveMode::Recursive)?;
            }
        }
        Ok(Events {
            watcher,
            signals,
            after_loss: None,
        })
    }

    /// Takes one signal: the time of the change it tells of, `None` for none; an error when
    /// watching broke.
    fn take(
        &mut self,
        inputs: &Inputs,
        signal: Signal,
        settling: bool,
    ) -> Result<Option<Instant>, String> {
        match signal {
            Signal::Changed { at, top } => {
                // A folder made (or moved) in the site folder, which is watched alone: watched
                // now, before the build that the change starts, so that what is written in it
                // after that build read it is told of.
                if let Some(top) = top.filter(|t| t.is_dir()) {
                    match self.watcher.watch(&top, RecursiveMode::Recursive) {
                        Ok(()) => {}
                        // Gone again before it could be watched: nothing to watch there, and
                        // the change starts its build anyway.
                        Err(_) if !top.is_dir() => return Ok(Some(at)),
                        // A folder below it went while it was being walked: once more.
                        Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => self
                            .watcher
                            .watch(&top, RecursiveMode::Recursive)
                            .map_err(|e| e.to_string())?,
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Ok(Some(at))
            }
            Signal::Lost(at) if settling => Ok(Some(at)),
            Signal::Lost(at) => {
                let now = inputs.fingerprint();
                Ok((self.after_loss.replace(now) != Some(now)).then_some(at))
            }
            Signal::Broken(why) => Err(why),
        }
    }

    /// Waits for a change of the inputs, then for them to settle: quiet for [`SETTLE`], or
    /// [`LONGEST`] after the first change.
    fn wait(&mut self, inputs: &Inputs) -> Result<(), String> {
        const STOPPED: &str = "the watcher stopped";
        let (first, mut last) = loop {
            let signal = self.signals.recv().map_err(|_| STOPPED.to_string())?;
            if let Some(at) = self.take(inputs, signal, false)? {
                break (at, at);
            }
        };
        loop {
            // Changes made during the last build waited in the queue: their times are those
            // they came at, so that the settle time is not waited for again.
            let until = (last + SETTLE).min(first + LONGEST);
            match self
                .signals
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(signal) => {
                    if let Some(at) = self.take(inputs, signal, true)? {
                        last = last.max(at);
                    }
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return Err(STOPPED.to_string()),
            }
        }
        // Settled, or waited long enough: what is still queued came before the build, which
        // will read it, and starts no other one (its folders are watched all the same).
        let queued: Vec<Signal> = self.signals.try_iter().collect();
        for signal in queued {
            self.take(inputs, signal, true)?;
        }
        Ok(())
    }
}

enum Mode {
    Events(Events),
    /// Looking every 100 ms; the inputs' fingerprint at the last look that started a build.
    Polling {
        seen: u64,
    },
}

/// Tells when the site's inputs changed. Made once, before the first build: a change made during
/// a build is told of by the [`Watcher::wait`] after it.
pub struct Watcher {
    inputs: Inputs,
    mode: Mode,
}

impl Watcher {
    /// Watches the inputs of the site in `site`, whose builds write to `out`. When the system
    /// cannot tell of changes, says so on standard error and looks every 100 ms instead.
    pub fn new(site: &Path, written: &[PathBuf]) -> Watcher {
        let inputs = Inputs::new(site, written);
        let mode = match Events::start(&inputs) {
            Ok(events) => Mode::Events(events),
            Err(e) => {
                errln!(
                    "gazette: cannot watch {} for changes ({e}); looking at its files every \
                     100 ms instead",
                    site.display()
                );
                Mode::Polling {
                    seen: inputs.fingerprint(),
                }
            }
        };
        Watcher { inputs, mode }
    }

    /// Waits until the inputs changed since the last call (since [`Watcher::new`], the first
    /// time) and then settled, so that a build can start.
    pub fn wait(&mut self) {
        match &mut self.mode {
            Mode::Polling { seen } => {
                *seen = next_change(&self.inputs.site, &self.inputs.written, *seen);
            }
            Mode::Events(events) => {
                if let Err(why) = events.wait(&self.inputs) {
                    errln!(
                        "gazette: watching {} for changes stopped working ({why}); looking at \
                         its files every 100 ms instead",
                        self.inputs.site.display()
                    );
                    // What went wrong may have hidden a change: one build, to be sure.
                    self.mode = Mode::Polling {
                        seen: self.inputs.fingerprint(),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RenameMode};

    fn site() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("_posts")).unwrap();
        std::fs::write(dir.path().join("_posts/2022-01-01-a.md"), "one").unwrap();
        let root = dir.path().canonicalize().unwrap();
        (dir, root)
    }

    #[test]
    fn inputs_are_all_but_hidden_entries_site_output_and_excluded_folders() {
        let (dir, root) = site();
        // The output folder need not exist yet (it does not before the first build).
        // Jekyll's destination and a cache folder are written into too; a folder that holds the
        // whole site (`destination: .`) is not taken as one.
        let written = [
            dir.path().join("feeds/out"),
            dir.path().join("public"),
            dir.path().join("cache"),
            dir.path().join("."),
        ];
        let inputs = Inputs::new(dir.path(), &written);
        for (path, input) in [
            ("public/index.html", false),
            ("cache/posts.cache", false),
            ("publications/a.md", true),
            ("", false),
            ("_config.yml", true),
            ("_posts/2022-01-01-a.md", true),
            ("_includes/deep/er.html", true),
            ("_posts/.2022-01-01-a.md.swp", false),
            (".gazette/build.state", false),
            (".git/index", false),
            ("_site/feed.xml", false),
            ("blog/_site/a.md", true),
            ("feeds/out/feed.atom.xml", false),
            ("feeds/out", false),
            ("feeds/other.md", true),
            ("node_modules/x/y.js", false),
            ("vendor/bundle/z.rb", false),
        ] {
            assert_eq!(inputs.holds(&root.join(path)), input, "{path:?}");
        }
        assert!(!inputs.holds(Path::new("/elsewhere/_posts/a.md")));
        assert!(inputs.holds_at_top(&root.join("_data")));
        assert!(!inputs.holds_at_top(&root.join("_posts/2022-01-01-a.md")));
        assert!(!inputs.holds_at_top(&root.join(".gazette")));
    }

    #[test]
    fn reads_and_writes_outside_the_inputs_are_no_change() {
        let (dir, root) = site();
        let inputs = Inputs::new(dir.path(), &[]);
        let post = root.join("_posts/2022-01-01-a.md");
        let event = |kind, paths: &[&Path]| {
            let event = paths
                .iter()
                .fold(notify::Event::new(kind), |e, p| e.add_path(p.to_path_buf()));
            signal(&inputs, Ok(event))
        };
        let change = |s: Option<Signal>| match s {
            Some(Signal::Changed { top, .. }) => Some(top),
            _ => None,
        };
        let opened = EventKind::Access(AccessKind::Open(AccessMode::Any));
        let read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        let written = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let data = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        let folder = EventKind::Create(CreateKind::Folder);
        assert!(event(opened, &[&post]).is_none());
        assert!(event(read, &[&post]).is_none());
        assert_eq!(change(event(written, &[&post])), Some(None));
        assert_eq!(change(event(data, &[&post])), Some(None));
        assert!(event(data, &[&root.join("_site/feeds/feed.atom.xml")]).is_none());
        assert!(event(data, &[&root.join(".gazette/posts.cache")]).is_none());
        // Written aside under a hidden name, renamed into place.
        let temp = root.join("_posts/.a.md.tmp");
        assert_eq!(change(event(renamed, &[&temp, &post])), Some(None));
        // A folder made in the site folder is one to watch; `.gazette` and `_site` are not.
        assert_eq!(
            change(event(folder, &[&root.join("_data")])),
            Some(Some(root.join("_data")))
        );
        assert!(event(folder, &[&root.join("_site")]).is_none());
        let lost = notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert!(matches!(signal(&inputs, Ok(lost)), Some(Signal::Lost(_))));
    }

    #[test]
    fn lost_events_start_a_build_only_when_the_inputs_changed_since() {
        let (dir, _) = site();
        let inputs = Inputs::new(dir.path(), &[]);
        let Ok(mut events) = Events::start(&inputs) else {
            return; // No watching here: the polling that stands in needs no test of this.
        };
        let at = Instant::now();
        let lost = |events: &mut Events, settling| {
            events
                .take(&inputs, Signal::Lost(at), settling)
                .unwrap()
                .is_some()
        };
        assert!(
            lost(&mut events, false),
            "the first loss: anything may have changed"
        );
        assert!(!lost(&mut events, false), "nothing changed since");
        std::fs::write(dir.path().join("_posts/2022-01-01-a.md"), "two, longer").unwrap();
        assert!(lost(&mut events, false), "a post changed");
        assert!(lost(&mut events, true), "while settling, any loss counts");
    }

    #[test]
    fn a_path_to_be_is_resolved_as_far_as_it_exists() {
        let (dir, root) = site();
        assert_eq!(
            resolve(&dir.path().join("_posts/../feeds/out")),
            root.join("feeds/out")
        );
        assert_eq!(resolve(&dir.path().join("_posts")), root.join("_posts"));
    }
}
