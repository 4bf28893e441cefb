//! `gazette build --watch`: a saved post reaches the feeds without another command, and a quiet
//! site is left alone (the builds' own writes start no build).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::site::{gazette_bin, Site};

const CONFIG: &str = "title: Watched\nurl: https://watch.example.org\ntimezone: UTC\n";

fn post(title: &str) -> String {
    format!("---\ntitle: {title}\ncategories: [news]\n---\nBody of {title}.\n")
}

/// The watching process, killed when dropped; its summary lines arrive on `lines`.
struct Watching {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watching {
    fn start(site: &Site) -> Watching {
        let mut child = Command::new(gazette_bin())
            .args(["build", "--watch", "--site", "."])
            .current_dir(site.path())
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gazette starts");
        let stdout = child.stdout.take().expect("piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Watching { child, lines }
    }

    /// The next summary line, within `limit` (a hang guard, not a timing).
    fn next_build(&self, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(" feeds from ") => return Some(line),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    /// Summary lines until `done` holds after one, within `limit` in all (a hang guard, not a
    /// timing).
    fn builds_until(&self, limit: Duration, what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + limit;
        let mut builds = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.next_build(left).is_none() {
                panic!("no build that {what} within {limit:?} ({builds} builds)");
            }
            builds += 1;
            if done() {
                return;
            }
        }
    }

    /// Summary lines until none came for `quiet`, within `limit` in all.
    fn builds_until_quiet(&self, quiet: Duration, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && self.next_build(quiet).is_some() {}
    }
}

#[test]
fn a_saved_post_reaches_the_feeds_and_a_quiet_site_is_left_alone() {
    let site = Site::new(CONFIG);
    site.write("_posts/2022-01-01-first.md", post("First"));
    let watching = Watching::start(&site);
    let first = watching
        .next_build(Duration::from_secs(60))
        .expect("a first build");
    assert!(first.contains("from 1 posts"), "{first}");
    let feed = site.path().join("_site/feeds/feed.atom.xml");

    // Nothing changes: no other build (its own writes, in _site and .gazette, are no input).
    assert_eq!(watching.next_build(Duration::from_secs(2)), None);

    // An edit, then a new post: each reaches the feed.
    site.write("_posts/2022-01-01-first.md", post("First, edited"));
    let second = watching
        .next_build(Duration::from_secs(30))
        .expect("a build after the edit");
    assert!(second.contains("from 1 posts"), "{second}");
    assert!(std::fs::read_to_string(&feed)
        .unwrap()
        .contains("First, edited"));

    site.write("_posts/2022-01-02-second.md", post("Second"));
    let third = watching
        .next_build(Duration::from_secs(30))
        .expect("a build after the new post");
    assert!(third.contains("from 2 posts"), "{third}");
    assert!(std::fs::read_to_string(&feed).unwrap().contains("Second"));
    assert_eq!(watching.next_build(Duration::from_secs(2)), None);
}

/// What a save looks like to the watcher, as editors and tools make them: many quick saves, some
/// during the builds they start; a file written aside and renamed into place (over a post, or as
/// a new one); a change in `_includes/`, and in `_data/`, a folder made after the watch began.
#[test]
fn quick_edits_renames_includes_and_data_reach_the_feeds() {
    let site = Site::new(CONFIG);
    let body = "{% include sig.html %} Desk: {{ site.data.desk.name }}.";
    let with_body = |title: &str| {
        format!("---\ntitle: {title}\ncategories: [news]\n---\nBody of {title}. {body}\n")
    };
    site.write("_includes/sig.html", "Signed by Ann.");
    site.write("_posts/2022-01-01-first.md", with_body("First"));
    let watching = Watching::start(&site);
    watching
        .next_build(Duration::from_secs(60))
        .expect("a first build");
    let feed = site.path().join("_site/feeds/feed.atom.xml");
    let read = || std::fs::read_to_string(&feed).unwrap();
    assert!(read().contains("Signed by Ann."), "{}", read());

    // (a) Twenty saves in a row, spread over a few builds' time: the feeds end with the last.
    for i in 1..=20u64 {
        site.write(
            "_posts/2022-01-01-first.md",
            with_body(&format!("Edit {i:02} of 20")),
        );
        std::thread::sleep(Duration::from_millis(i * 3));
    }
    watching.builds_until(Duration::from_secs(60), "holds the last edit", || {
        read().contains("Edit 20 of 20")
    });
    // Whatever builds were still to come (a save during a build starts one more) end the same.
    watching.builds_until_quiet(Duration::from_secs(2), Duration::from_secs(60));
    let text = read();
    assert!(text.contains("Edit 20 of 20"), "{text}");
    assert!(!text.contains("Edit 19 of 20"), "{text}");

    // (b) Written aside (a hidden name, as editors' temporary files have) and renamed into
    // place: over the post, and as a new post.
    let posts = site.path().join("_posts");
    std::fs::write(
        posts.join(".first.md.tmp"),
        with_body("First, renamed over"),
    )
    .unwrap();
    std::fs::rename(
        posts.join(".first.md.tmp"),
        posts.join("2022-01-01-first.md"),
    )
    .unwrap();
    watching.builds_until(Duration::from_secs(60), "holds the renamed post", || {
        read().contains("First, renamed over")
    });
    std::fs::write(posts.join(".second.md.tmp"), with_body("Second")).unwrap();
    std::fs::rename(
        posts.join(".second.md.tmp"),
        posts.join("2022-01-02-second.md"),
    )
    .unwrap();
    watching.builds_until(Duration::from_secs(60), "holds the new post", || {
        read().contains("Body of Second.")
    });

    // (c) An include the posts take, and data they show: `_data/` is made now, after the
    // watch began, and a change inside it counts too.
    site.write("_includes/sig.html", "Signed by Bob.");
    watching.builds_until(Duration::from_secs(60), "holds the new include", || {
        read().contains("Signed by Bob.")
    });
    site.write("_data/desk.yml", "name: Night desk\n");
    watching.builds_until(Duration::from_secs(60), "holds the new data", || {
        read().contains("Desk: Night desk.")
    });
    site.write("_data/desk.yml", "name: Day desk\n");
    watching.builds_until(Duration::from_secs(60), "holds the changed data", || {
        read().contains("Desk: Day desk.")
    });

    // And the builds' own writes still start none.
    watching.builds_until_quiet(Duration::from_secs(2), Duration::from_secs(60));
    assert_eq!(watching.next_build(Duration::from_secs(2)), None);
}
