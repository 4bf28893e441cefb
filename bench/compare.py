"""What `bench/run.py --compare` needs to run Jekyll (with jekyll-feed) and Hugo on a corpus of
bench/gen_corpus.py: finding the tools, Jekyll's settings for its two runs, and the conversion
of the corpus into a minimal Hugo site. Stdlib only, Python 3.11.

What each tool is asked to do (also written into the report, see METHOD):

* Jekyll, whole site: `jekyll build` of the corpus as it is. `_config.yml` has
  `plugins: [jekyll-feed]` and `feed: {posts_limit: 20, tags: true, categories: [every
  category]}`, so jekyll-feed writes `feed.xml` and `feed/<category>.xml` (Atom; it makes no
  feed for a tag that is not an ASCII word, and every tag of the corpus is Chinese). Jekyll also
  runs Liquid and kramdown on every post and writes every post's page through the corpus's
  minimal `_layouts/post.html`, as it does for any site.
* Jekyll, feeds only: the same, with an extra config file (`--config _config.yml,FILE`) whose
  `plugins_dir` holds a six-line plugin that makes posts neither placed in a layout nor written
  (no setting can: Jekyll forces `collections: posts: output: true`, and a post's `layout:`
  wins over `defaults:`). Jekyll still renders every post's body (Liquid, then kramdown):
  jekyll-feed's template reads `post.content`, and Jekyll renders every document of a
  collection whether it is written or not. This is the least Jekyll can be asked to do to write
  these feeds.
* Hugo: the corpus converted (untimed) into content files with the same bodies (`.md` stays
  Markdown for Goldmark, `.html` stays HTML; Liquid is left as text: Hugo has no Liquid) and
  front matter mapped to Hugo's (title as written, the date in RFC 3339 with its offset,
  `categories`, `tags`, and `url` set to the page's Jekyll URL so feed links are the same);
  `config.toml` with the same baseURL, title and time zone, taxonomies `categories` and `tags`,
  RSS as the only output of the home page and of each category and tag (no HTML, no sitemap),
  20 items a feed, Goldmark with raw HTML passed through (the bodies are mostly HTML), and
  `hasCJKLanguage` (so summaries are cut by characters, as a Chinese site sets it), and regular
  pages listed and linked but not written (`_build: {render: link}`), so Hugo renders a body
  only for the items its feeds show. The RSS template writes the summary and the full content,
  as gazette's RSS does.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

# ----------------------------------------------------------------------------------------
# Finding the tools.


def _first_line(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    return (r.stdout.strip() or r.stderr.strip()).splitlines()[0] if (r.stdout or r.stderr) else ""


def jekyll_status():
    """(available, description or the reason it is skipped)."""
    exe = shutil.which("jekyll")
    if not exe:
        return False, "not installed (Debian: `apt-get install jekyll ruby-jekyll-feed`)"
    version = _first_line([exe, "--version"]) or "jekyll (version unknown)"
    feed = _first_line(["ruby", "-e", 'gem "jekyll-feed"; puts Gem.loaded_specs["jekyll-feed"].version'])
    if feed is None:
        return False, "%s, but jekyll-feed is not installed (Debian: `apt-get install " \
                      "ruby-jekyll-feed`)" % version
    return True, "%s with jekyll-feed %s" % (version, feed)


def hugo_status():
    exe = shutil.which("hugo")
    if not exe:
        return False, "not installed (Debian: `apt-get install hugo`)"
    version = _first_line([exe, "version"]) or "hugo (version unknown)"
    return True, version


# ----------------------------------------------------------------------------------------
# Jekyll.

# Jekyll asked for jekyll-feed's feeds and as little else as it can do. No setting does it:
# Jekyll forces `collections: posts: output: true`, and a post's own `layout:` wins over
# `defaults:`. So a second config file points `plugins_dir` at a folder with this plugin.
JEKYLL_FEEDS_ONLY_CONFIG = (
    "# bench/run.py --compare: Jekyll asked for jekyll-feed's feeds and as little else as it can\n"
    "plugins_dir: %s\n"
)
JEKYLL_FEEDS_ONLY_PLUGIN = """\
# bench/run.py --compare: posts are still rendered (Liquid, then kramdown: jekyll-feed's
# template reads post.content, and Jekyll renders every document, written or not), but
# not placed in a layout and not written.
module Jekyll
  class Document
    alias_method :gazette_bench_write?, :write?
    alias_method :gazette_bench_place_in_layout?, :place_in_layout?

    def write?
      collection.label == "posts" ? false : gazette_bench_write?
    end

    def place_in_layout?
      collection.label == "posts" ? false : gazette_bench_place_in_layout?
    end
  end
end
"""


def jekyll_feeds_only(folder):
    """Writes the config file and the plugin into folder; returns the config file."""
    plugins = folder / "jekyll-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "feeds_only.rb").write_text(JEKYLL_FEEDS_ONLY_PLUGIN, encoding="utf-8")
    config = folder / "jekyll-feeds-only.yml"
    config.write_text(JEKYLL_FEEDS_ONLY_CONFIG % json.dumps(str(plugins.resolve())),
                      encoding="utf-8")
    return config


def jekyll_argv(site, dest, overlay=None):
    config = str(site / "_config.yml") + ("," + str(overlay) if overlay else "")
    return ["jekyll", "build", "--quiet", "--source", str(site), "--destination", str(dest),
            "--config", config]


def jekyll_clean(site, dest):
    """What a cold Jekyll build starts without: its output and its cache in the site."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.rmtree(site / ".jekyll-cache", ignore_errors=True)
    (site / ".jekyll-metadata").unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------
# Hugo.

HUGO_CONFIG = """\
# Written by bench/run.py --compare from the corpus's _config.yml.
baseURL = "{url}/"
title = {title}
languageCode = "{lang}"
timeZone = "{tz}"
hasCJKLanguage = true
disableKinds = ["sitemap", "robotsTXT", "404"]

[taxonomies]
  category = "categories"
  tag = "tags"

[outputs]
  home = ["RSS"]
  section = ["RSS"]
  taxonomy = ["RSS"]
  term = ["RSS"]

[services.rss]
  limit = 20

[markup.goldmark.renderer]
  unsafe = true

[[cascade]]
  [cascade._build]
    render = "link"
    list = "always"
  [cascade._target]
    kind = "page"
"""

HUGO_RSS = """\
{{- $pages := .Pages -}}
{{- if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end -}}
{{- $limit := .Site.Config.Services.RSS.Limit -}}
{{- if ge $limit 1 }}{{ $pages = $pages | first $limit }}{{ end -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" \
xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>{{ .Site.Title }}{{ if not .IsHome }} — {{ .Title }}{{ end }}</title>
<link>{{ .Permalink }}</link>
<description>{{ .Site.Title }}</description>
<language>{{ .Site.LanguageCode }}</language>
{{- with .OutputFormats.Get "RSS" }}
<atom:link href="{{ .Permalink }}" rel="self" type="{{ .MediaType }}"/>{{ end }}
{{- range $pages }}
<item><title>{{ .Title }}</title><link>{{ .Permalink }}</link>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<guid isPermaLink="true">{{ .Permalink }}</guid>
<description>{{ printf "<![CDATA[%s]]>" .Summary | safeHTML }}</description>
<content:encoded>{{ printf "<![CDATA[%s]]>" .Content | safeHTML }}</content:encoded>
{{- range .Params.categories }}<category>{{ . }}</category>{{ end }}
{{- range .Params.tags }}<category>{{ . }}</category>{{ end }}
</item>
{{- end }}
</channel></rss>
"""

_CONFIG_KEYS = re.compile(r'^(title|url|lang|timezone): *"?(.*?)"? *$', re.M)
_DATE = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$")


def _front_matter(text):
    """The corpus's own front matter shapes (see gen_corpus.py): key -> raw value, with
    `tags` as a list whatever form it was written in."""
    assert text.startswith("---\n")
    end = text.index("\n---\n", 3)
    fm, body = text[4:end], text[end + 5:]
    out, lines, i = {}, fm.split("\n"), 0
    while i < len(lines):
        key, _, value = lines[i].partition(":")
        value = value.strip()
        i += 1
        if key == "tags":
            if value.startswith("["):
                out["tags"] = [t.strip() for t in value[1:-1].split(",") if t.strip()]
            elif value:
                out["tags"] = value.split()
            else:
                tags = []
                while i < len(lines) and lines[i].startswith("  - "):
                    tags.append(lines[i][4:].strip())
                    i += 1
                out["tags"] = tags
        else:
            out[key] = value
    return out, body


def hugo_site(site, dest):
    """Converts the corpus at `site` into a Hugo site at `dest` (replaced). Returns the number
    of content files."""
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "content").mkdir(parents=True)
    (dest / "layouts" / "_default").mkdir(parents=True)
    conf = dict(_CONFIG_KEYS.findall((site / "_config.yml").read_text(encoding="utf-8")))
    (dest / "config.toml").write_text(HUGO_CONFIG.format(
        url=conf["url"].rstrip("/"), title=json.dumps(conf["title"], ensure_ascii=False),
        lang=conf.get("lang", "en"), tz=conf.get("timezone", "UTC")), encoding="utf-8")
    (dest / "layouts" / "_default" / "rss.xml").write_text(HUGO_RSS, encoding="utf-8")
    count = 0
    with os.scandir(site / "_posts") as entries:
        for e in entries:
            fm, body = _front_matter(Path(e.path).read_text(encoding="utf-8"))
            m = _DATE.match(fm["date"])
            y, mo, d, hh, mi, ss, sign, oh, om = m.groups()
            slug = e.name[11:].rsplit(".", 1)[0]
            cat = fm["categories"]
            hugo_fm = "\n".join([
                "---",
                "title: " + fm["title"],  # a YAML double-quoted string, kept as written
                "date: %s-%s-%sT%s:%s:%s%s%s:%s" % (y, mo, d, hh, mi, ss, sign, oh, om),
                "categories: " + json.dumps([cat], ensure_ascii=False),
                "tags: " + json.dumps(fm.get("tags", []), ensure_ascii=False),
                "url: /%s/%s/%s/%s/%s.html" % (cat, y, mo, d, slug),  # Jekyll's URL
                "---",
                "",
            ])
            (dest / "content" / e.name).write_text(hugo_fm + body, encoding="utf-8")
            count += 1
    return count


def hugo_argv(hsite, dest, cache_dir):
    return ["hugo", "--quiet", "--source", str(hsite), "--destination", str(dest),
            "--cacheDir", str(cache_dir)]


def hugo_clean(hsite, dest, cache_dir):
    shutil.rmtree(dest, ignore_errors=True)
    shutil.rmtree(cache_dir, ignore_errors=True)
    shutil.rmtree(hsite / "resources", ignore_errors=True)


# ----------------------------------------------------------------------------------------


def count_output(folder):
    """(files, feeds) below folder: feeds are the .xml files."""
    files = feeds = 0
    for _root, _dirs, names in os.walk(folder):
        for n in names:
            files += 1
            feeds += n.endswith(".xml")
    return files, feeds
