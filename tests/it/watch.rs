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
