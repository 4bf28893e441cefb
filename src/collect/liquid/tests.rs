//! Unless said otherwise, every expected output here is what Jekyll 4.3.1 (with Liquid 5.4.0)
//! wrote for the same source, in a site built with `jekyll build` (posts without a layout, so
//! that the page is the converted body alone; Markdown's paragraphs left aside).

use super::*;
use crate::collect::{collect, Options};

/// A small site on disk: `_config.yml`, files, and the posts collected from it.
struct Site {
    dir: tempfile::TempDir,
    liquid: LiquidSite,
    posts: Vec<Post>,
    problems: Vec<Problem>,
}

const CONFIG: &str = "title: My Site\nurl: https://example.com\nbaseurl: /blog\ntimezone: Europe/Paris\ncustom:\n  nested:\n    key: deep value\nlist: [a, b, c]\n";

fn site(files: &[(&str, &str)]) -> Site {
    site_with(CONFIG, files)
}

fn site_with(config: &str, files: &[(&str, &str)]) -> Site {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("_config.yml"), config).unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("_posts")).unwrap();
    let config = SiteConfig::load(dir.path()).unwrap().config;
    let options = Options {
        now: chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .into(),
        ..Options::default()
    };
    let collection = collect(dir.path(), &config, &options);
    let (liquid, problems) = LiquidSite::new(dir.path(), &config, collection.listing().unwrap());
    Site {
        dir,
        liquid,
        posts: collection.posts,
        problems,
    }
}

impl Site {
    /// Renders the post whose file is `_posts/<name>`: its Liquid output and problems.
    fn render(&self, name: &str) -> (String, Vec<Problem>) {
        let source = PathBuf::from("_posts").join(name);
        let post = self
            .posts
            .iter()
            .find(|p| p.source == source)
            .unwrap_or_else(|| panic!("no post {name}"));
        let text = std::fs::read_to_string(self.dir.path().join(&source)).unwrap();
        let rest = text.strip_prefix("---\n").unwrap();
        let end = rest.find("\n---\n").unwrap();
        let front_matter: serde_yaml::Mapping = serde_yaml::from_str(&rest[..end]).unwrap();
        let body = &rest[end + 5..];
        let body_line = text[..text.len() - body.len()].matches('\n').count() + 1;
        self.liquid.render(post, &front_matter, body, body_line)
    }

    fn output(&self, name: &str) -> String {
        let (out, problems) = self.render(name);
        assert!(problems.is_empty(), "{problems:#?}");
        out
    }
}

fn post(title: &str, body: &str) -> String {
    format!("---\ntitle: {title}\n---\n{body}")
}

#[test]
fn a_body_without_liquid_is_returned_as_it_is() {
    let s = site(&[("_posts/2022-01-01-a.md", &post("A", "plain { text } %\n"))]);
    assert_eq!(s.output("2022-01-01-a.md"), "plain { text } %\n");
}

#[test]
fn site_holds_the_configuration_and_data() {
    let s = site(&[
        ("_data/authors.yml", "alice:\n  name: Alice A\nbob:\n  name: Bob B\n"),
        ("_data/stats.json", r#"{"count": 3, "items": ["x","y"]}"#),
        ("_data/people/list.csv", "name,age\nAnn,30\nBen,40\n"),
        ("_data/people/kids.tsv", "name\tage\nTia\t5\n"),
        (
            "_posts/2022-01-12-site.md",
            &post(
                "Site",
                "T={{ site.title }} U={{ site.url }} B={{ site.baseurl }} N={{ site.custom.nested.key }} L={{ site.list | join: \",\" }}\n\
                 D={{ site.data.authors.alice.name }} S={{ site.data.stats.count }} {{ site.data.stats.items | join: \"+\" }} C={{ site.data.people.list[1].name }} {{ site.data.people.list[0].age }} K={{ site.data.people.kids[0].name }}\n",
            ),
        ),
    ]);
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    assert_eq!(
        s.output("2022-01-12-site.md"),
        "T=My Site U=https://example.com B=/blog N=deep value L=a,b,c\n\
         D=Alice A S=3 x+y C=Ben 30 K=Tia\n"
    );
}

#[test]
fn page_holds_the_front_matter_and_jekyll_fields() {
    let s = site(&[(
        "_posts/2022-01-12-site.md",
        "---\ntitle: Site & Page\ntags: [t1, t2]\ncategories: news tech\ncustom_fm: hello\n---\n\
         P={{ page.title }} url={{ page.url }} id={{ page.id }} cats={{ page.categories | join: \",\" }} tags={{ page.tags | join: \",\" }} slug={{ page.slug }} path={{ page.path }} coll={{ page.collection }} fm={{ page.custom_fm }}\n\
         date={{ page.date }} | {{ page.date | date: \"%B %-d, %Y %H:%M %z\" }} | {{ page.date | date_to_xmlschema }} | {{ page.date | date_to_rfc822 }}\n\
         ds={{ page.date | date_to_string }} | {{ page.date | date_to_string: \"ordinal\" }} | {{ page.date | date_to_string: \"ordinal\", \"US\" }} | {{ page.date | date_to_long_string }} | {{ page.date | date_to_long_string: \"ordinal\", \"US\" }}\n\
         missing=[{{ page.nope }}][{{ nope.deeper.x }}][{{ site.nothing.here }}]\n",
    )]);
    assert_eq!(
        s.output("2022-01-12-site.md"),
        "P=Site & Page url=/news/tech/2022/01/12/site.html id=/news/tech/2022/01/12/site cats=news,tech tags=t1,t2 slug=site path=_posts/2022-01-12-site.md coll=posts fm=hello\n\
         date=2022-01-12 00:00:00 +0100 | January 12, 2022 00:00 +0100 | 2022-01-12T00:00:00+01:00 | Wed, 12 Jan 2022 00:00:00 +0100\n\
         ds=12 Jan 2022 | 12th Jan 2022 | Jan 12th, 2022 | 12 January 2022 | January 12th, 2022\n\
         missing=[][][]\n"
    );
}

#[test]
fn site_posts_lists_posts_newest_first() {
    let s = site(&[
        ("_posts/2010-07-21-name.md", &post("Old post", "old\n")),
        ("_posts/sub/2011-02-03-subpost.md", "---\ntitle: Sub post\ncategories: [x]\n---\nsub\n"),
        (
            "_posts/2022-01-12-site.md",
            &post(
                "Site",
                "posts={% for p in site.posts %}{{ p.title }}|{{ p.url }}|{{ p.date | date: \"%Y\" }}|{{ p.categories | join: \",\" }}|{{ p.missing }};{% endfor %}\n\
                 count={{ site.posts | size }} first={{ site.posts.first.title }} x={{ site.categories.x.first.title }}\n",
            ),
        ),
    ]);
    assert_eq!(
        s.output("2022-01-12-site.md"),
        "posts=Site|/2022/01/12/site.html|2022||;Sub post|/x/2011/02/03/subpost.html|2011|x|;Old post|/2010/07/21/name.html|2010||;\n\
         count=3 first=Site x=Sub post\n"
    );
}

#[test]
fn jekyll_tags_and_liquid_blocks() {
    let s = site(&[
        (
            "_includes/note.html",
            "<div class=\"note\">{{ include.text }} / {{ include.other }} / {{ page.title }}</div>\n",
        ),
        (
            "_includes/outer.html",
            "[outer {{ include.a }} {% include nested/inner.html b=\"B\" %} after={{ include.a }}]\n",
        ),
        ("_includes/nested/inner.html", "(inner {{ include.b }} {{ include.a }})\n"),
        ("_includes/plain.html", "plain include\n"),
        ("_posts/rel.txt", "relative {{ page.title }}\n"),
        ("_posts/2010-07-21-name.md", &post("Old post", "old\n")),
        ("_posts/sub/2011-02-03-subpost.md", "---\ntitle: Sub post\ncategories: [x]\n---\nsub\n"),
        ("_posts/2016-07-26-linked.md", &post("Linked", "linked\n")),
        (
            "_posts/2022-01-13-tags.md",
            "---\ntitle: Tags\nwhich: plain.html\n---\n\
             {% include note.html text=\"quoted \\\"x\\\"\" other=page.title %}\n\
             {% include note.html text='single' %}\n\
             {% include outer.html a=\"A\" %}\n\
             {% include {{ page.which }} %}\n\
             {% include_relative rel.txt %}\n\
             R1 {% raw %}{{ not }} {% run %}{% endraw %} R2\n\
             PU={% post_url 2010-07-21-name %} {% post_url sub/2011-02-03-subpost %}\n\
             LK={% link _posts/2016-07-26-linked.md %}\n\
             {% capture greeting %}Hi {{ page.title | upcase }}{% endcapture %}CAP={{ greeting }}\n\
             {% assign n = 3 %}{% if n > 2 %}big{% else %}small{% endif %} {% unless n == 3 %}no{% endunless %}\n\
             {% for i in (1..3) %}{{ i }}{% unless forloop.last %},{% endunless %}{% endfor %}\n\
             {% case n %}{% when 1 %}one{% when 3 %}three{% else %}other{% endcase %}\n\
             {% comment %}hidden {{ x }}{% endcomment %}visible\n\
             a   {%- assign z = 1 -%}   b\n\
             c {{- \" d \" -}} e\n",
        ),
    ]);
    // Jekyll's page, with kramdown's `<p>` taken off: the includes' own newlines are kept.
    assert_eq!(
        s.output("2022-01-13-tags.md"),
        "<div class=\"note\">quoted \"x\" / Tags / Tags</div>\n\n\
         <div class=\"note\">single /  / Tags</div>\n\n\
         [outer A (inner B )\n after=A]\n\n\
         plain include\n\n\
         relative Tags\n\n\
         R1 {{ not }} {% run %} R2\n\
         PU=/blog/2010/07/21/name.html /blog/x/2011/02/03/subpost.html\n\
         LK=/blog/2016/07/26/linked.html\n\
         CAP=Hi TAGS\n\
         big \n\
         1,2,3\n\
         three\n\
         visible\n\
         ab\n\
         c d e\n"
    );
}

#[test]
fn highlight_writes_rouge_markup() {
    let s = site(&[(
        "_posts/2022-01-14-hl.md",
        &post(
            "HL",
            "{% highlight ruby %}\ndef foo\n  puts \"<hi> & bye\"\nend\n{% endhighlight %}\n\n\
             {% highlight ruby linenos %}\na = 1\nb = 2\n{% endhighlight %}\n",
        ),
    )]);
    // Jekyll's markup without Rouge's colour spans (the visible text is the same).
    assert_eq!(
        s.output("2022-01-14-hl.md"),
        "<figure class=\"highlight\"><pre><code class=\"language-ruby\" data-lang=\"ruby\">def foo\n  puts \"&lt;hi&gt; &amp; bye\"\nend</code></pre></figure>\n\n\
         <figure class=\"highlight\"><pre><code class=\"language-ruby\" data-lang=\"ruby\"><table class=\"rouge-table\"><tbody><tr><td class=\"gutter gl\"><pre class=\"lineno\">1\n2\n</pre></td><td class=\"code\"><pre>a = 1\nb = 2\n</pre></td></tr></tbody></table></code></pre></figure>\n"
    );
}

#[test]
fn jekyll_filters() {
    let s = site(&[
        ("_data/people/list.csv", "name,age\nAnn,30\nBen,40\n"),
        ("_data/authors.yml", "alice:\n  name: Alice A\nbob:\n  name: Bob B\n"),
        (
            "_posts/2022-01-15-filters.md",
            &post(
                "Filters",
                "{{ \"/assets/x.png\" | relative_url }} {{ \"assets/x.png\" | absolute_url }} {{ \"\" | relative_url }} {{ \"/\" | absolute_url }}\n\
                 {{ 'a < b & c > \"e\"' | xml_escape }} {{ \"a b&c=d/é?\" | cgi_escape }} {{ \"a b/é?x=1&y\" | uri_escape }}\n\
                 {{ \"one two  three\\nfour\" | number_of_words }} {{ \"one two\" | number_of_words: \"cjk\" }}\n\
                 {{ site.list | array_to_sentence_string }} {{ site.list | array_to_sentence_string: \"or\" }}\n\
                 {{ \"Hello *world*\" | markdownify }}\
                 {{ '\"quoted\" it is -- --- ...' | smartify }}\n\
                 {{ \"Hello, World! é Ünïcode_x.y\" | slugify }} {{ \"Hello, World! é_x.y\" | slugify: \"pretty\" }} {{ \"Hello, World! é_x.y\" | slugify: \"raw\" }} {{ \"Hello, World! é_x.y\" | slugify: \"ascii\" }} {{ \"Hello, World! é_x.y\" | slugify: \"latin\" }}\n\
                 {{ site.data.authors | jsonify }} {{ site.list | jsonify }} {{ 's\"q' | jsonify }}\n\
                 {{ site.data.people.list | where: \"name\", \"Ben\" | map: \"age\" | join }} {{ site.data.people.list | where_exp: \"p\", 'p.name == \"Ben\"' | map: \"name\" | join }}\n\
                 {% assign g = site.data.people.list | group_by: \"age\" %}{% for x in g %}{{ x.name }}={{ x.items | size }};{% endfor %}\n\
                 {{ site.list | sort | join }} {{ \"12abc\" | to_integer }} {{ \" a \\n  b  \" | normalize_whitespace }}X {{ site.list | inspect }} {{ \"s\" | inspect }}\n\
                 {{ site.data.people.list | find: \"name\", \"Ann\" | map: \"age\" }} {% assign f = site.data.people.list | find: \"name\", \"Ann\" %}{{ f.age }}\n\
                 {% assign arr = site.list | push: \"d\" %}{{ arr | join }} {{ site.list | pop | join }} {{ site.list | shift | join }} {{ site.list | unshift: \"z\" | join }}\n\
                 {{ nil | default: \"dflt\" }} {{ \"abc\" | upcase }} {{ \"abc\" | size }} {{ \"2022-03-04\" | date: \"%d/%m/%Y\" }}\n",
            ),
        ),
    ]);
    // Jekyll's output before kramdown turned its quotes curly (the quotes in `jsonify`) and
    // `&quot;` back into `"`: those are Markdown's doing, not Liquid's.
    assert_eq!(
        s.output("2022-01-15-filters.md"),
        "/blog/assets/x.png https://example.com/blog/assets/x.png /blog https://example.com/blog/\n\
         a &lt; b &amp; c &gt; &quot;e&quot; a+b%26c%3Dd%2F%C3%A9%3F a%20b/%C3%A9?x=1&y\n\
         3 2\n\
         a, b, and c a, b, or c\n\
         <p>Hello <em>world</em></p>\n\
         “quoted” it is – — …\n\
         hello-world-é-ünïcode-x-y hello,-world!-é_x.y hello,-world!-é_x.y hello-world-x-y hello-world-e-x-y\n\
         {\"alice\":{\"name\":\"Alice A\"},\"bob\":{\"name\":\"Bob B\"}} [\"a\",\"b\",\"c\"] \"s\\\"q\"\n\
         40 Ben\n\
         30=1;40=1;\n\
         a b c 12 a \\n bX [\"a\", \"b\", \"c\"] \"s\"\n\
         30 30\n\
         a b c d a b b c z a b c\n\
         dflt ABC 3 04/03/2022\n"
    );
}

#[test]
fn render_with_liquid_false_leaves_the_body_as_written() {
    let s = site(&[(
        "_posts/2022-01-16-norender.md",
        "---\ntitle: NoRender\nrender_with_liquid: false\n---\n{{ site.title }} {% if x %}y{% endif %}\n",
    )]);
    assert_eq!(
        s.output("2022-01-16-norender.md"),
        "{{ site.title }} {% if x %}y{% endif %}\n"
    );
}

/// Jekyll stops the build on these; gazette publishes the post without the failing part.
#[test]
fn failures_are_warnings_and_render_as_nothing() {
    let s = site(&[(
        "_posts/2022-01-01-x.md",
        "---\ntitle: X\n---\nline one\n\
         a {% youtube abc %} b\n\
         {% if true %}c {% gist 123 %}d{% endif %}\n\
         {% note %}hidden {{ x }}{% endnote %}e\n\
         {{ 'f' | some_plugin_filter | upcase }}\n\
         {% include missing.html %}g\n\
         {% if %}h{% endif %}i {{ 'j' }}\n\
         {% post_url 2000-01-01-nothing %}k {% endfor %}\n\
         {{ unclosed\n",
    )]);
    let (out, problems) = s.render("2022-01-01-x.md");
    assert_eq!(out, "line one\na  b\nc d\ne\nF\ng\ni j\nk \n unclosed\n");
    let shown: Vec<String> = problems
        .iter()
        .map(|p| {
            format!(
                "{}:{}:{}: {}",
                p.path.strip_prefix(s.dir.path()).unwrap().display(),
                p.position.line,
                p.position.column,
                p.message
            )
        })
        .collect();
    let x = "_posts/2022-01-01-x.md";
    assert_eq!(
        shown,
        [
            format!("{x}:5:3: Liquid tag `youtube` comes from a plugin gazette does not have: it renders as nothing"),
            format!("{x}:6:16: Liquid tag `gist` comes from a plugin gazette does not have: it renders as nothing"),
            format!("{x}:7:1: Liquid block `note` comes from a plugin gazette does not have: it renders as nothing, up to its `{{% endnote %}}`"),
            format!("{x}:8:1: Liquid filter `some_plugin_filter` comes from a plugin gazette does not have: the value passes through unchanged"),
            format!("{x}:9:1: `{{% include missing.html %}}`: no file _includes/missing.html: it renders as nothing"),
            format!("{x}:10:6: Liquid syntax error in `if`: Value expected: it renders as nothing"),
            format!("{x}:11:1: `{{% post_url 2000-01-01-nothing %}}`: no post 2000-01-01-nothing: it renders as nothing"),
            format!("{x}:11:36: `{{% endfor %}}` closes no `{{% for %}}`: gazette leaves it out"),
            format!("{x}:12:1: `{{{{` is never closed: Liquid refuses it, gazette leaves it out"),
        ]
    );
    assert_eq!(
        problems[0].message,
        "Liquid tag `youtube` comes from a plugin gazette does not have: it renders as nothing"
    );
    assert!(!out.contains("{%") && !out.contains("{{"), "{out}");
}

#[test]
fn includes_are_parsed_once_and_their_warnings_given_once() {
    let s = site(&[
        (
            "_includes/video.html",
            "before {% youtube abc %} {{ include.n }}|{{ include.t }}|{{ include.f }}\n",
        ),
        // From Jekyll 4.3.1: `n=1 t=true f=2.5` gives `1|true|2.5`.
        (
            "_posts/2022-01-01-a.md",
            &post("A", "{% include video.html n=1 t=true f=2.5 %}\n"),
        ),
        (
            "_posts/2022-01-02-b.md",
            &post("B", "{% include video.html n=2 %}\n"),
        ),
    ]);
    let (a, a_problems) = s.render("2022-01-01-a.md");
    let (b, b_problems) = s.render("2022-01-02-b.md");
    assert_eq!(a, "before  1|true|2.5\n\n");
    assert_eq!(b, "before  2||\n\n");
    assert_eq!(a_problems.len() + b_problems.len(), 1);
    let problem = &a_problems[0];
    assert_eq!(problem.path, s.dir.path().join("_includes/video.html"));
    assert_eq!(problem.position, Position::new(1, 8));
    // The site's posts were never asked for, so never built.
    assert!(s.liquid.shared.site.posts.get().is_none());
}

/// Jekyll includes a file whole: its front matter is text (Jekyll 4.3.1 wrote `x: 1` and the
/// dashes, which kramdown then made a rule and a dash).
#[test]
fn an_include_front_matter_is_text() {
    let s = site(&[
        ("_includes/fm.html", "---\nx: 1\n---\nafter\n"),
        (
            "_posts/2022-01-01-a.md",
            &post("A", "{% include fm.html %}"),
        ),
    ]);
    assert_eq!(s.output("2022-01-01-a.md"), "---\nx: 1\n---\nafter\n");
}

#[test]
fn an_include_that_includes_itself_stops() {
    let s = site(&[
        ("_includes/loop.html", "x{% include loop.html %}"),
        (
            "_posts/2022-01-01-a.md",
            &post("A", "{% include loop.html %}\n"),
        ),
    ]);
    let (out, problems) = s.render("2022-01-01-a.md");
    assert_eq!(out, format!("{}\n", "x".repeat(32)));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("nested more than 32 deep"));
}

#[test]
fn nothing_panics_on_broken_liquid() {
    let s = site(&[("_posts/2022-01-01-a.md", &post("A", "x\n"))]);
    let post = &s.posts[0];
    let fm = serde_yaml::Mapping::new();
    for body in [
        "{% raw %}",
        "{% endraw %}",
        "{% comment %}",
        "{% if %}",
        "{% for %}{% endfor %}",
        "{{ | }}",
        "{{ a | }}",
        "{% include %}",
        "{% include ../x %}",
        "{% highlight %}x{% endhighlight %}",
        "{% highlight ruby %}",
        "{% for i in (1..5) %}{% break %}{% endfor %}{% break %}",
        "{%- -%}",
        "{{- -}}",
        "{{}}",
        "{%%}",
        "{% if a %}{% else %}{% else %}{% endif %}",
        "{% case %}{% endcase %}",
        "{{ 'x' | date: 5 }}",
        "{{ x | where_exp: 'a', '{{' }}",
        "{% link {{ %}",
        "é{{ é }}é",
        "{% cycle %}",
        "{% assign = %}",
        "{% capture %}{% endcapture %}",
        "{% tablerow x in y %}{% endtablerow %}",
        "{{ site.posts | sort: 'title' | first | inspect }}",
        "{{ 'a' | slice: 99999999999 }}",
    ] {
        let (out, _) = s.liquid.render(post, &fm, body, 4);
        assert!(!out.contains("{%") && !out.contains("{{"), "{body}: {out}");
    }
}

#[test]
fn data_and_linked_pages_are_read_as_jekyll_reads_front_matter() {
    // Jekyll 4.3: a repeated key in a data file keeps its last value; a page whose fences carry
    // trailing blanks or close with `...` still has its `permalink`.
    let s = site(&[
        ("_data/d.yml", "a: 1\na: 2\n"),
        ("about.md", "--- \npermalink: /x/\n...\nhi\n"),
        (
            "_posts/2022-01-03-a.md",
            &post("A", "{{ site.data.d.a }} {% link about.md %}\n"),
        ),
    ]);
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    assert_eq!(s.output("2022-01-03-a.md"), "2 /blog/x/\n");
}
