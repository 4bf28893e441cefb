//! Hostile input and faults, round two: the output and state folders: stale temporaries after a
//! kill, folders left by a failed write, links inside the output folder, feed URLs that never
//! move, OPML types, slugs, and the caches' keys (issue #13, items 1, 3, 4, 9, 10, 11, 12, 14).
//! Every case runs the real binary.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use crate::support::site::{files, Site, Tmpfs};

const CONFIG: &str = "title: Output\nurl: https://output.example.com\ntimezone: UTC\n";

/// A site in `<tempdir>/site`, so that anything written beside it shows; its runs (`TZ=UTC`
/// unless a test says otherwise) are checked by each test.
fn output_site(config: &str) -> Site {
    Site::options()
        .prefix("gazette-output-")
        .inside_root()
        .lenient()
        .create(config)
}

fn post(front: &str, body: &str) -> String {
    format!("---\n{front}\n---\n{body}\n")
}

/// Every folder below `dir`, relative.
fn folders(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(at) = todo.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                out.insert(entry.path().strip_prefix(dir).unwrap().to_path_buf());
                todo.push(entry.path());
            }
        }
    }
    out
}

/// gazette's temporary files: `.NAME.gazette-PID.tmp` (feeds), `NAME.tmp-PID` (caches).
fn is_temporary(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    let feed = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".tmp"))
        .and_then(|n| n.rsplit_once(".gazette-"))
        .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
    let cache = name
        .rsplit_once(".tmp-")
        .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
    feed || cache
}

/// The id of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    pid
}

// ---------------------------------------------------------------------------------------------
// 3. Temporary files of killed runs

/// A site of `n` posts, each in a category and a tag of its own (4 n + a few files to write).
fn big_site(n: usize) -> Site {
    let site = output_site(&format!("{CONFIG}gazette:\n  tag_feeds: true\n"));
    for i in 0..n {
        site.write(
            &format!("_posts/2022-01-01-post-{i:05}.md"),
            post(
                &format!("title: Post {i}\ncategories: [category-{i}]\ntags: [tag-{i}]"),
                &format!("Body of post {i}, with a few words in it."),
            ),
        );
    }
    site
}

/// SIGKILLs real builds while they write (as soon as their first temporary file shows), a few
/// times, then checks that the next build removes every temporary file the killed ones left and
/// nothing else. (Found: 474 files, 66 MB, after eight kills, deployed with the site.)
#[test]
fn a_build_killed_while_writing_leaves_nothing_the_next_build_keeps() {
    let site = big_site(1200);
    site.build().assert_code(0);
    let before = files(&site.out());
    site.write("_site/feeds/notes.tmp", "the user's");
    site.write(
        "_site/feeds/categories/.draft.gazette-notes.tmp",
        "the user's",
    );
    let mut left_behind = BTreeSet::new();
    for attempt in 0..6 {
        if attempt > 1 && !left_behind.is_empty() {
            break;
        }
        // Every feed changes, so the build writes every file again.
        site.write(
            "_config.yml",
            format!("title: Output {attempt}\nurl: https://output.example.com\ntimezone: UTC\ngazette:\n  tag_feeds: true\n"),
        );
        let mut child = site.gazette(["build", "--site", ".", "--quiet"]).start();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let writing = fs::read_dir(site.out())
                .unwrap()
                .flatten()
                .any(|e| is_temporary(Path::new(&e.file_name())));
            if writing || !child.running() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        child.kill(); // SIGKILL (a build that already ended is only reaped)
        left_behind.extend(files(&site.out()).into_iter().filter(|f| is_temporary(f)));
    }
    assert!(
        !left_behind.is_empty(),
        "no kill landed while the build wrote: the test proves nothing"
    );
    site.build().assert_code(0);
    let after = files(&site.out());
    let temporary: Vec<_> = after.iter().filter(|f| is_temporary(f)).collect();
    assert!(temporary.is_empty(), "left behind: {temporary:?}");
    let mut want = before.clone();
    want.insert("notes.tmp".into());
    want.insert("categories/.draft.gazette-notes.tmp".into());
    assert_eq!(after, want);
    let state: Vec<_> = files(&site.path().join(".gazette"))
        .into_iter()
        .filter(|f| is_temporary(f))
        .collect();
    assert!(state.is_empty(), "left in .gazette/: {state:?}");
}

/// Temporary files planted with the id of a process that has ended (as a kill leaves them, in
/// the output folder, its category and tag folders, and `.gazette/`) are removed by the next
/// build; everything else stays: the files of a live process, names that only look alike,
/// links (and what they point to), folders reached through a link, files outside.
#[test]
fn stale_temporaries_are_removed_and_nothing_else() {
    let site = output_site(&format!("{CONFIG}gazette:\n  tag_feeds: true\n"));
    site.write(
        "_posts/2022-01-01-a.md",
        post("title: A\ncategories: [news]\ntags: [t]", "A."),
    );
    site.build().assert_code(0);
    let dead = dead_pid();
    let live = std::process::id(); // this test's process, running
    let stale = [
        format!("_site/feeds/.feed.rss.xml.gazette-{dead}.tmp"),
        format!("_site/feeds/..gazette-files.gazette-{dead}.tmp"),
        format!("_site/feeds/categories/.news.atom.xml.gazette-{dead}.tmp"),
        format!("_site/feeds/tags/.t.rss.xml.gazette-{dead}.tmp"),
        format!(".gazette/posts.tmp-{dead}"),
        format!(".gazette/entries.tmp-{dead}"),
    ];
    let kept = [
        format!("_site/feeds/.feed.rss.xml.gazette-{live}.tmp"),
        format!("_site/feeds/.gazette-{dead}.tmp"),
        format!("_site/feeds/feed.rss.xml.gazette-{dead}.tmp"),
        format!("_site/feeds/.feed.rss.xml.gazette-{dead}.tmp.bak"),
        format!("_site/feeds/categories/.news.gazette-{dead}x.tmp"),
        format!("_site/.feed.rss.xml.gazette-{dead}.tmp"),
        format!(".gazette/posts.tmp-{live}"),
        format!(".gazette/other.tmp-{dead}"),
        format!(".gazette/posts.tmp-{dead}.x"),
        format!("posts.tmp-{dead}"),
    ];
    for file in stale.iter().chain(&kept) {
        site.write(file, "x");
    }
    let outside = site.root().join("outside");
    fs::create_dir(&outside).unwrap();
    let victim = outside.join(format!(".x.rss.xml.gazette-{dead}.tmp"));
    fs::write(&victim, "outside").unwrap();
    let link = site
        .out()
        .join(format!(".link.rss.xml.gazette-{}.tmp", dead_pid()));
    symlink(&victim, &link).unwrap();
    let linked_folder = site.out().join("elsewhere");
    symlink(&outside, &linked_folder).unwrap();
    // A tampered manifest naming the linked folder must not lead the sweep there.
    let manifest = site.out().join(".gazette-files");
    let mut listed = fs::read_to_string(&manifest).unwrap();
    listed.push_str("elsewhere/x.rss.xml\n");
    fs::write(&manifest, listed).unwrap();

    site.build().assert_code(0);
    for file in &stale {
        assert!(!site.path().join(file).exists(), "{file} was left in place");
    }
    for file in &kept {
        assert!(site.path().join(file).exists(), "{file} was removed");
    }
    assert!(fs::symlink_metadata(&link).is_ok(), "the link was removed");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "outside");
}

// ---------------------------------------------------------------------------------------------
// 4. Folders a failed write made

fn big_post() -> String {
    let big = "All work and no play makes a full disk. ".repeat(4000);
    post("title: Big\ncategories: [news]\ntags: [big]", &big)
}

/// A full disk: the build fails, and the folders it made (`categories/`, `tags/`) are gone
/// with its temporary files. (Found: a full disk left empty `tags/` and `categories/`.)
#[test]
fn a_full_disk_leaves_no_empty_folders_behind() {
    let Some(disk) = Tmpfs::mount() else {
        println!("skipped: cannot mount a tmpfs (see the next test for the same without one)");
        return;
    };
    let site = output_site(&format!("{CONFIG}gazette:\n  tag_feeds: true\n"));
    site.write("_posts/2022-01-02-big.md", big_post());
    // The output folder and the folders above it are made by the build: they go too.
    let made = disk.dir.path().join("made/by/gazette");
    let run = site.run(&["build", "--site", ".", "--out", made.to_str().unwrap()]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("No space left on device (os error 28)"),
        "{}",
        run.stderr
    );
    let left: Vec<_> = fs::read_dir(disk.dir.path()).unwrap().flatten().collect();
    assert!(
        left.is_empty(),
        "left behind: {:?}",
        left.iter().map(|e| e.file_name()).collect::<Vec<_>>()
    );

    // After a good build, a failing one takes back only the folder it made (`tags/`).
    let out = disk.dir.path().to_str().unwrap().to_string();
    site.write(
        "_config.yml",
        format!("{CONFIG}gazette:\n  tag_feeds: false\n"),
    );
    site.write(
        "_posts/2022-01-02-big.md",
        post("title: Small\ncategories: [news]\ntags: [big]", "small"),
    );
    site.run(&["build", "--site", ".", "--out", &out])
        .assert_code(0);
    let before = files(disk.dir.path());
    site.write(
        "_config.yml",
        format!("{CONFIG}gazette:\n  tag_feeds: true\n"),
    );
    site.write("_posts/2022-01-02-big.md", big_post());
    site.run(&["build", "--site", ".", "--out", &out])
        .assert_code(1);
    assert_eq!(files(disk.dir.path()), before);
    assert_eq!(
        folders(disk.dir.path()),
        BTreeSet::from([PathBuf::from("categories")])
    );
    drop(disk);
}

/// The same without a tmpfs: a write that fails after the folders were made (a folder stands
/// where the site's feed goes) leaves no folder it made, and the output folder and the folders
/// above it, when it made them, go too.
#[test]
fn a_failed_write_removes_the_folders_it_made() {
    let site = output_site(&format!("{CONFIG}gazette:\n  tag_feeds: true\n"));
    site.write(
        "_posts/2022-01-01-a.md",
        post("title: A\ncategories: [news]\ntags: [t]", "A."),
    );
    fs::create_dir_all(site.out().join("feed.rss.xml")).unwrap();
    let run = site.build();
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("feed.rss.xml: a folder stands where the feed goes"),
        "{}",
        run.stderr
    );
    assert_eq!(
        folders(&site.out()),
        BTreeSet::from([PathBuf::from("feed.rss.xml")])
    );
    assert_eq!(files(&site.out()), BTreeSet::new());
}

// ---------------------------------------------------------------------------------------------
// 10. Links inside the output folder

/// `_site/feeds/categories -> /elsewhere`: the build refuses to write through it, says so, and
/// writes nothing (not there, not elsewhere); the previous feeds stay as they were.
#[test]
fn writes_never_follow_a_link_inside_the_output_folder() {
    let site = output_site(CONFIG);
    site.write(
        "_posts/2022-01-01-a.md",
        post("title: A\ncategories: [news]", "A."),
    );
    site.build().assert_code(0);
    let elsewhere = site.root().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::rename(site.out().join("categories"), site.root().join("moved")).unwrap();
    symlink(&elsewhere, site.out().join("categories")).unwrap();
    let before: Vec<(PathBuf, Vec<u8>)> = files(&site.out())
        .into_iter()
        .filter(|f| !f.starts_with("categories"))
        .map(|f| {
            let bytes = fs::read(site.out().join(&f)).unwrap();
            (f, bytes)
        })
        .collect();
    site.write(
        "_posts/2022-01-02-b.md",
        post("title: B\ncategories: [news]", "B."),
    );
    let run = site.build();
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "categories: a symbolic link stands where a folder of feeds goes (gazette never writes through one)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    let after: Vec<(PathBuf, Vec<u8>)> = files(&site.out())
        .into_iter()
        .filter(|f| !f.starts_with("categories"))
        .map(|f| {
            let bytes = fs::read(site.out().join(&f)).unwrap();
            (f, bytes)
        })
        .collect();
    assert_eq!(after, before, "the output folder changed");

    // A link where a feed goes is refused too, and what it points to is left alone.
    fs::remove_file(site.out().join("categories")).unwrap();
    fs::rename(site.root().join("moved"), site.out().join("categories")).unwrap();
    let victim = elsewhere.join("victim.xml");
    fs::write(&victim, "keep").unwrap();
    fs::remove_file(site.out().join("feed.atom.xml")).unwrap();
    symlink(&victim, site.out().join("feed.atom.xml")).unwrap();
    let run = site.build();
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "feed.atom.xml: a symbolic link stands where the feed goes (gazette never writes through one)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
}

// ---------------------------------------------------------------------------------------------
// 9. A published feed keeps its URL

/// A post in `News` added to a site that has `news`: `categories/news.rss.xml` stays `news`'s
/// (its subscribers keep their posts), `News` gets the next free file, and a warning says which
/// name got which file. A clean build is deterministic.
#[test]
fn a_new_name_never_takes_a_published_feed() {
    let site = output_site(CONFIG);
    site.write(
        "_posts/2022-01-01-old.md",
        post("title: Old news\ncategories: [news]", "Old."),
    );
    site.build().assert_code(0);
    assert!(site
        .read_out("categories/news.rss.xml")
        .contains("Old news"));

    site.write(
        "_posts/2022-01-02-new.md",
        post("title: New News\ncategories: [News]", "New."),
    );
    let run = site.build();
    run.assert_code(0);
    let news = site.read_out("categories/news.rss.xml");
    assert!(
        news.contains("Old news") && !news.contains("New News"),
        "{news}"
    );
    let moved = site.read_out("categories/news-2.rss.xml");
    assert!(
        moved.contains("New News") && !moved.contains("Old news"),
        "{moved}"
    );
    assert!(
        site.read_out("categories/news-2.atom.xml")
            .contains("New News"),
        "the Atom feed follows"
    );
    assert!(
        run.stderr.contains(
            "categories/news-2.rss.xml:1:1: warning: category \"News\" gets categories/news-2.rss.xml: \
             the file name its name makes (news) is category \"news\"'s (categories/news.rss.xml)"
        ),
        "{}",
        run.stderr
    );
    // The lists and the links name the files each feed has.
    assert!(site
        .read_out("feeds.opml")
        .contains("https://output.example.com/feeds/categories/news-2.rss.xml"));

    // Build after build, the files stay where they are.
    site.build().assert_code(0);
    assert!(site
        .read_out("categories/news.rss.xml")
        .contains("Old news"));

    // A clean build gives the names in name order (`News` sorts before `news`), every time.
    let clean = |dir: &str| {
        site.run(&["build", "--site", ".", "--out", dir, "--quiet"])
            .assert_code(0);
        fs::read_to_string(site.path().join(dir).join("categories/news.rss.xml")).unwrap()
    };
    let first = clean("clean-1");
    assert!(first.contains("New News") && !first.contains("Old news"));
    assert_eq!(
        fs::read(site.path().join("clean-1/.gazette-names")).unwrap(),
        fs::read(site.path().join({
            clean("clean-2");
            "clean-2/.gazette-names"
        }))
        .unwrap()
    );

    // A name that leaves gives its file back only when it is gone; the other keeps its own.
    fs::remove_file(site.path().join("_posts/2022-01-01-old.md")).unwrap();
    site.build().assert_code(0);
    assert!(!site.out().join("categories/news.rss.xml").exists());
    assert!(site
        .read_out("categories/news-2.rss.xml")
        .contains("New News"));
}

// ---------------------------------------------------------------------------------------------
// 11. The machine's zone is part of the cache key

/// Without `timezone`, dates without an offset are read in the machine's zone: a run with
/// `TZ=Asia/Tokyo` after one with `TZ=UTC` gives `+0900` dates, as `--no-cache` does.
/// (Found: the cache kept `+0000`.)
#[test]
fn the_machines_zone_is_part_of_the_cache_key() {
    let site = output_site("title: Zones\nurl: https://zones.example.com\n");
    site.write(
        "_posts/2022-01-12-local.md",
        post("title: Local\ndate: \"2022-01-12 10:00:00\"", "Local time."),
    );
    site.run_tz(&["build", "--site", "."], "UTC").assert_code(0);
    assert!(
        site.read_out("feed.rss.xml")
            .contains("Wed, 12 Jan 2022 10:00:00 +0000"),
        "{}",
        site.read_out("feed.rss.xml")
    );
    site.run_tz(&["build", "--site", "."], "Asia/Tokyo")
        .assert_code(0);
    let cached = site.read_out("feed.rss.xml");
    site.run_tz(
        &["build", "--site", ".", "--no-cache", "--out", "fresh"],
        "Asia/Tokyo",
    )
    .assert_code(0);
    let fresh = fs::read_to_string(site.path().join("fresh/feed.rss.xml")).unwrap();
    assert!(fresh.contains("Wed, 12 Jan 2022 10:00:00 +0900"), "{fresh}");
    assert_eq!(cached, fresh);
}

// ---------------------------------------------------------------------------------------------
// 14. OPML types

/// Both OPML lists mark every feed `type="rss"` (some importers skip any other type); the Atom
/// list points at the Atom files.
#[test]
fn opml_lists_mark_every_feed_rss() {
    let site = output_site(&format!("{CONFIG}gazette:\n  tag_feeds: true\n"));
    site.write(
        "_posts/2022-01-01-a.md",
        post("title: A\ncategories: [news]\ntags: [t]", "A."),
    );
    site.build().assert_code(0);
    for (list, ending) in [
        ("feeds.opml", ".rss.xml\""),
        ("feeds-atom.opml", ".atom.xml\""),
    ] {
        let opml = site.read_out(list);
        let outlines: Vec<&str> = opml.lines().filter(|l| l.contains("<outline")).collect();
        assert_eq!(outlines.len(), 3, "{opml}");
        for outline in outlines {
            assert!(outline.contains(r#"type="rss""#), "{list}: {outline}");
            assert!(outline.contains(ending), "{list}: {outline}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Slugs

/// Unsafe `slugs:` values are warned about, naming the setting; names Windows reserves get
/// another file name, so the output folder can be checked out on Windows.
#[test]
fn unsafe_slugs_are_reported_and_windows_names_are_avoided() {
    let site = output_site(&format!(
        "{CONFIG}gazette:\n  tag_feeds: true\n  slugs:\n    up: ../x\n    deep: a/b\n    none: \"\"\n    dev: nul\n"
    ));
    site.write(
        "_posts/2022-01-01-a.md",
        post(
            "title: A\ncategories: [con, AUX, up, deep, none, dev]\ntags: [com1, LPT9, Nul.txt, prn]",
            "A.",
        ),
    );
    let run = site.build();
    run.assert_code(0);
    for (name, slug, why) in [
        ("up", "../x", "is not a safe file name"),
        ("deep", "a/b", "is not a safe file name"),
        ("none", "", "is empty"),
        ("dev", "nul", "is a name Windows reserves"),
    ] {
        let line = format!(
            "_config.yml:6:1: warning: `slugs:` gives {name:?} the file name {slug:?}, which {why}"
        );
        assert!(
            run.stderr.contains(&line),
            "no {line:?} in:\n{}",
            run.stderr
        );
    }
    let written = files(&site.out());
    for file in [
        "categories/con-1.rss.xml",
        "categories/aux-1.rss.xml",
        "categories/up.rss.xml",
        "categories/deep.rss.xml",
        "categories/none.rss.xml",
        "categories/dev.rss.xml",
        "tags/com1-1.rss.xml",
        "tags/lpt9-1.rss.xml",
        "tags/nul-txt.rss.xml",
        "tags/prn-1.atom.xml",
    ] {
        assert!(written.contains(Path::new(file)), "no {file}: {written:?}");
    }
    let reserved = ["con", "prn", "aux", "nul", "com1", "com9", "lpt1", "lpt9"];
    for file in &written {
        for part in file.iter() {
            let stem = part
                .to_string_lossy()
                .split('.')
                .next()
                .unwrap()
                .to_lowercase();
            assert!(!reserved.contains(&stem.as_str()), "{}", file.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. File names that are not UTF-8, in the caches

/// A post whose file name is not UTF-8 is cached like any other (found: it turned off both
/// caches for the whole site, "cannot write the cache …: Serde Serialization Error"). The
/// proof that the caches are used: the post is rewritten with the same size and modification
/// time, which a cache cannot see, and the next build still shows what was cached.
#[test]
fn a_file_name_that_is_not_utf8_keeps_the_caches() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let site = output_site(CONFIG);
    site.write(
        "_posts/2022-01-01-plain.md",
        post("title: Plain\ncategories: [news]", "Plain."),
    );
    let odd = site
        .path()
        .join("_posts")
        .join(OsStr::from_bytes(b"2022-01-02-caf\xe9.md"));
    fs::write(&odd, post("title: AAAA\ncategories: [news]", "Body.")).unwrap();
    let run = site.build();
    run.assert_code(0);
    assert!(!run.stderr.contains("cannot write"), "{}", run.stderr);
    assert!(site.read_out("feed.rss.xml").contains("AAAA"));
    let modified = fs::metadata(&odd).unwrap().modified().unwrap();
    fs::write(&odd, post("title: BBBB\ncategories: [news]", "Body.")).unwrap();
    fs::File::options()
        .write(true)
        .open(&odd)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let run = site.build();
    run.assert_code(0);
    assert!(!run.stderr.contains("cannot write"), "{}", run.stderr);
    let feed = site.read_out("feed.rss.xml");
    assert!(feed.contains("AAAA") && !feed.contains("BBBB"), "{feed}");
    // Not a stale cache forever: a real change is seen.
    fs::File::options()
        .write(true)
        .open(&odd)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    site.build().assert_code(0);
    assert!(site.read_out("feed.rss.xml").contains("BBBB"));
}

#[test]
fn the_digest_links_each_group_to_the_feed_the_build_wrote() {
    let site = output_site(&format!(
        "{CONFIG}gazette:\n  digest:\n    from: Digest <digest@output.example.com>\n    subscribers: subscribers.yml\n"
    ));
    site.write("subscribers.yml", "- address: reader@example.org\n");
    site.write(
        "_posts/2022-01-03-old.md",
        post("title: Old news\ncategories: [news]", "Old."),
    );
    site.build().assert_code(0);
    site.write(
        "_posts/2022-01-04-new.md",
        post("title: New News\ncategories: [News]", "New."),
    );
    site.build().assert_code(0);
    assert!(site
        .read_out("categories/news-2.rss.xml")
        .contains("New News"));
    let run = site.run(&[
        "digest",
        "--site",
        ".",
        "--week",
        "2022-W01",
        "--dry-run",
        "--preview",
        "preview.html",
    ]);
    run.assert_code(0);
    let html = fs::read_to_string(site.path().join("preview.html")).unwrap();
    let links: Vec<&str> = html
        .split("class=\"feed\" href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    // "news" keeps the file it was published under; "News", which came later, has news-2.
    assert_eq!(
        links
            .iter()
            .filter(|l| l.ends_with("/categories/news.rss.xml"))
            .count(),
        1,
        "{links:?}"
    );
    assert_eq!(
        links
            .iter()
            .filter(|l| l.ends_with("/categories/news-2.rss.xml"))
            .count(),
        1,
        "{links:?}"
    );
    let old_group = html.find("Old news").unwrap();
    let new_group = html.find("New News").unwrap();
    let link_before = |at: usize| {
        html[..at]
            .rfind("/categories/news")
            .map(|i| &html[i..i + 22])
    };
    assert!(
        link_before(old_group).is_some_and(|l| l.starts_with("/categories/news.rss")),
        "{html}"
    );
    assert!(
        link_before(new_group).is_some_and(|l| l.starts_with("/categories/news-2.rs")),
        "{html}"
    );
}
