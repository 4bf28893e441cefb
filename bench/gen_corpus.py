#!/usr/bin/env python3
"""Write a synthetic Jekyll site of Chinese news posts, for gazette's benchmarks.

    python3 bench/gen_corpus.py --posts N --categories K --seed S --out DIR

DIR/_config.yml, DIR/_posts/*.{md,html}, DIR/_includes/source.html,
DIR/_data/desk.yml and DIR/_layouts/post.html are written (DIR is created; files
of an earlier run with other arguments are not removed, so give an empty DIR).
The site is a real Jekyll site: `jekyll build` (Debian's jekyll 4.3 and
ruby-jekyll-feed) builds it without an error or a warning. `_config.yml` holds
gazette's settings and jekyll-feed's (`plugins: [jekyll-feed]`, `feed:` with
the categories, `tags: true`, 20 posts a feed), which gazette ignores.

Every post has the shape of a mirrored news article: YAML front matter
(`layout: post`, a double-quoted Chinese `title`, `date: YYYY-MM-DD HH:MM:SS
+0800`, one pinyin `categories` value, 1-3 Chinese `tags`), then 2-8 KB of
Chinese HTML <p> paragraphs, a "source" line, an autolink to the original and
protocol-relative links back to the category page and the home page.

The mix (fractions of all posts, drawn from the seed):
  * categories: Zipf-like, weight 1/rank**1.1 over the K categories;
  * dates: 2018-01-01 .. 2024-12-31 (+0800), mostly in the daytime;
    ~3 % reuse the exact timestamp of an earlier post (half of those in the
    same category, so feeds must break ties);
  * tags: a space-separated string, ~5 % a YAML list (flow or block);
  * ~4 % Markdown bodies (headings, bullet and numbered lists, a quote,
    relative and root-relative images);
  * ~4 % `.html` files (pure HTML, <a href> links instead of Markdown ones);
  * ~2 % titles with characters that need escaping in XML or YAML (& < > ");
  * ~3 % "rich" posts (drawn from a second random stream, so the other posts
    are the same as without them), whose body also runs what Jekyll renders
    beyond plain HTML: in .md posts, Liquid ({{ site.title }},
    {{ site.data.desk.editor }} from _data/, a `date` filter on page.date,
    {% include source.html %} with parameters, {% post_url %} to an earlier
    post, {% highlight json %} or {% raw %}, a {% for %} over _data with
    `relative_url`) and kramdown (bold next to full-width punctuation, smart
    quotes, `--` and `...`, a footnote, a table, `{: .class}` attribute lists);
    in .html posts, the Liquid variables, the include and post_url.

Deterministic: the same arguments give byte-identical files (CPython 3.11,
stdlib only). 100k posts (about 450 MB) take some 10-20 s, mostly disk time.
"""

import argparse
import datetime as dt
import os
import random
import sys

SITE_URL = "https://news.example.org"
SITE_HOST = "news.example.org"
SOURCE_HOST = "wire.example.net"

# ---------------------------------------------------------------------------
# Categories: pinyin name -> Chinese name of the outlet the posts are mirrored from.
OUTLETS = [
    ("caijingribao", "财经日报"),
    ("jinrongshibao", "金融时报"),
    ("zhengquanzhoukan", "证券周刊"),
    ("laodongbao", "劳动报"),
    ("jingjidaobao", "经济导报"),
    ("shichangxinwen", "市场新闻"),
    ("chanyeguancha", "产业观察"),
    ("nongcunbao", "农村报"),
    ("kejixunkan", "科技旬刊"),
    ("nengyuanbao", "能源报"),
    ("jiaotongbao", "交通报"),
    ("shangwuzhoubao", "商务周报"),
    ("fangchanbao", "房产报"),
    ("shuiwuxinwen", "税务新闻"),
    ("baoxianbao", "保险报"),
    ("jijinzhoukan", "基金周刊"),
]
REGIONS = [
    ("beijing", "北京"), ("tianjin", "天津"), ("hebei", "河北"), ("shanxi", "山西"),
    ("liaoning", "辽宁"), ("jilin", "吉林"), ("shanghai", "上海"), ("jiangsu", "江苏"),
    ("zhejiang", "浙江"), ("anhui", "安徽"), ("fujian", "福建"), ("jiangxi", "江西"),
    ("shandong", "山东"), ("henan", "河南"), ("hubei", "湖北"), ("hunan", "湖南"),
    ("guangdong", "广东"), ("hainan", "海南"), ("sichuan", "四川"), ("guizhou", "贵州"),
    ("yunnan", "云南"), ("shaanxi", "陕西"), ("gansu", "甘肃"), ("chongqing", "重庆"),
]
DESKS = [("caijing", "财经"), ("shangbao", "商报"), ("wanbao", "晚报"), ("jingji", "经济")]


def categories(k):
    """K (pinyin, Chinese) pairs, most frequent first."""
    out = list(OUTLETS)
    for desk_py, desk_zh in DESKS:
        for reg_py, reg_zh in REGIONS:
            out.append((reg_py + desk_py, reg_zh + desk_zh))
    base, n = list(out), 2
    while len(out) < k:
        out.extend((py + str(n), zh + str(n)) for py, zh in base)
        n += 1
    return out[:k]


# ---------------------------------------------------------------------------
# The word and phrase pool. Sentences are built from slots; numbers are drawn per sentence.
PLACES = [
    "江苏省", "浙江省杭州市", "广东省佛山市", "山东省青岛市", "四川省绵阳市", "湖北省宜昌市",
    "福建省泉州市", "安徽省芜湖市", "河南省洛阳市", "湖南省株洲市", "江西省九江市",
    "陕西省宝鸡市", "云南省曲靖市", "贵州省遵义市", "辽宁省鞍山市", "吉林省吉林市",
    "河北省唐山市", "山西省大同市", "甘肃省天水市", "海南省三亚市", "重庆市万州区",
    "上海市闵行区", "北京市顺义区", "天津市西青区", "广西壮族自治区柳州市",
    "内蒙古自治区鄂尔多斯市", "宁夏回族自治区吴忠市", "新疆维吾尔自治区喀什地区",
]
ACTORS = [
    "人社部门", "发展改革部门", "财政部门", "金融监管部门", "商务主管部门", "税务部门",
    "多家商业银行", "部分券商", "行业协会", "地方政府", "龙头企业", "科研院所",
    "产业园区", "公共就业服务机构", "市场监管部门", "交通运输部门", "住房城乡建设部门",
    "农业农村部门", "工业和信息化部门", "统计部门",
]
ACTIONS = [
    "持续加大", "稳步推进", "着力优化", "积极探索", "加快构建", "进一步完善", "深入实施",
    "统筹推进", "全面落实", "大力支持", "不断提升", "扎实开展", "有序推进", "切实加强",
    "创新开展", "精准实施",
]
OBJECTS = [
    "重点企业用工服务", "普惠金融服务体系", "制造业数字化转型", "绿色低碳发展",
    "科技创新能力建设", "营商环境改革", "产业链供应链稳定", "农村基础设施建设",
    "多层次社会保障体系", "消费市场扩容提质", "外贸保稳提质", "职业技能培训",
    "小微企业融资支持", "城市更新行动", "新型基础设施建设", "高校毕业生就业帮扶",
    "减税降费政策", "特色产业集群培育", "跨境贸易便利化", "养老服务体系建设",
]
TAILS = [
    "取得了积极成效", "为经济平稳运行提供了有力支撑", "惠及群众{a}万人", "累计投入资金{b}亿元",
    "相关指标同比增长{p}%", "带动就业岗位{a}万个", "服务企业{n}家次", "市场预期明显改善",
    "企业获得感不断增强", "形成了一批可复制可推广的经验", "完成年度目标任务的{p}%",
    "较上年同期提高{q}个百分点",
]
OPENERS = [
    "", "", "", "今年以来，", "近日，", "据了解，", "记者获悉，", "截至{m}月底，", "与此同时，",
    "数据显示，", "去年以来，", "一季度，", "上半年，", "前{m}个月，", "在此基础上，",
]
METRICS = [
    "规模以上工业增加值", "社会消费品零售总额", "固定资产投资", "进出口总额", "一般公共预算收入",
    "新增贷款", "城镇新增就业", "高技术制造业投资", "网上零售额", "实际使用外资",
]
SPOKESPEOPLE = [
    "有关负责人", "业内人士", "分析人士", "受访专家", "一位基金经理", "企业负责人",
    "研究院首席经济学家", "证券公司首席分析师",
]
OUTLOOKS = [
    "下一步将{act}{obj}", "随着政策效应持续释放，{obj}有望进一步提速",
    "{obj}仍面临一定压力，需要各方协同发力", "应当继续{act}{obj}，稳定市场预期",
    "预计全年{metric}将保持合理增长", "要坚持问题导向，{act}{obj}",
]
SUBHEADS = [
    "政策发力稳预期", "服务下沉暖人心", "精准对接解难题", "多点开花促增长", "创新驱动添动能",
    "守牢底线防风险", "协同联动聚合力", "数字赋能提效率", "夯实基础谋长远", "优化供给扩需求",
    "市场回暖信心足", "机构观点", "数据解读", "后市展望", "专家点评", "延伸阅读",
]
TAG_POOL = [
    "就业", "社保", "金融", "货币政策", "资本市场", "基金", "银行", "保险", "债券", "外贸",
    "消费", "制造业", "新能源", "科技创新", "乡村振兴", "房地产", "税收", "营商环境",
    "数字经济", "物价", "投资", "产业升级", "中小企业", "职业培训", "养老", "交通",
    "能源", "农业", "区域发展", "民生",
]
MD_ITEMS = [
    "加大财政资金支持力度", "压缩审批办理时限", "完善用工服务保障", "推动上下游协同发展",
    "健全风险监测预警", "强化跨部门数据共享", "扩大首贷和信用贷投放", "落实各项减税降费政策",
    "提升公共就业服务水平", "加快重点项目建设进度", "稳定市场主体预期", "扩大有效投资",
]
SLUG_SYLLABLES = [
    "jingji", "jiuye", "jinrong", "shichang", "zhengce", "qiye", "fuwu", "chanye", "touzi",
    "xiaofei", "waimao", "keji", "nongye", "nengyuan", "shebao", "yinhang", "jijin", "zhaiquan",
    "wending", "zengzhang", "fazhan", "gaige", "chuangxin", "shuju", "baogao", "quyu",
]
# Titles that need escaping: & < > in XML, \" in a YAML double-quoted string.
ODD_TITLES = [
    "研发&创新：{place}{obj}观察", "增速>{p}%的{obj}项目有哪些", "融资成本<{q}% {actor}出实招",
    "“稳增长”再加码 {actor}称\\\"节奏不变\\\"", "Q&A：{obj}十问十答",
]

HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 9, 7, 8, 9, 10, 10, 9, 8, 7, 6, 5, 3, 2]


class Pool:
    """Pre-built sentences (and their UTF-8 sizes) to sample paragraphs from quickly."""

    def __init__(self, rng, size=5000):
        self.rng = rng
        self.sentences = [self._sentence() for _ in range(size)]
        self.sizes = [len(s.encode("utf-8")) for s in self.sentences]
        self.mean = sum(self.sizes) / len(self.sizes)

    def _nums(self):
        r = self.rng
        return {
            "a": "%.1f" % r.uniform(0.2, 150), "b": "%.1f" % r.uniform(1, 5000),
            "p": "%.1f" % r.uniform(0.3, 40), "q": "%.1f" % r.uniform(0.1, 6),
            "n": r.randint(15, 9000), "m": r.randint(2, 11),
        }

    def _sentence(self):
        r = self.rng
        kind = r.random()
        fill = self._nums()
        if kind < 0.5:
            s = (r.choice(OPENERS) + r.choice(PLACES) + r.choice(ACTORS) + r.choice(ACTIONS)
                 + r.choice(OBJECTS) + "，" + r.choice(TAILS) + "。")
        elif kind < 0.7:
            s = (r.choice(OPENERS) + r.choice(PLACES) + r.choice(METRICS) + "达到{b}亿元，同比增长{p}%，"
                 + "增速比上月" + r.choice(("加快", "回落")) + "{q}个百分点。")
        elif kind < 0.9:
            out = r.choice(OUTLOOKS).format(act=r.choice(ACTIONS), obj=r.choice(OBJECTS),
                                            metric=r.choice(METRICS))
            s = r.choice(ACTORS) + r.choice(SPOKESPEOPLE) + "表示，" + out + "。"
        else:
            s = ("在" + r.choice(PLACES) + "，“" + r.choice(OBJECTS)
                 + "”正在从试点走向全面推开，" + r.choice(TAILS) + "。")
        return s.format(**fill)

    def text(self, nbytes):
        """Roughly nbytes of consecutive sentences."""
        k = max(1, round(nbytes / self.mean))
        return "".join(self.rng.choices(self.sentences, k=k))


def yaml_quoted(s):
    """A YAML double-quoted scalar (the ODD_TITLES carry their own backslash escapes)."""
    return '"' + s + '"'


def make_title(rng):
    fill = {
        "place": rng.choice(PLACES), "actor": rng.choice(ACTORS), "obj": rng.choice(OBJECTS),
        "p": "%.1f" % rng.uniform(1, 30), "q": "%.1f" % rng.uniform(1, 5),
    }
    if rng.random() < 0.02:
        return rng.choice(ODD_TITLES).format(**fill)
    kind = rng.random()
    if kind < 0.4:
        return fill["place"] + rng.choice(ACTIONS) + fill["obj"]
    if kind < 0.7:
        return "%s：%s%s" % (fill["actor"], rng.choice(ACTIONS), fill["obj"])
    if kind < 0.9:
        return "%s%s同比增长%s%%" % (fill["place"], rng.choice(METRICS), fill["p"])
    return "“%s”见实效 %s%s" % (rng.choice(SUBHEADS)[:4], fill["place"],
                               rng.choice(("成效明显", "亮点纷呈", "提质增效", "稳中向好")))


def tail_links(cat, cat_zh, code, html):
    src = "http://%s/article/show.html?id=%s" % (SOURCE_HOST, code)
    back = "//%s/category/%s.html" % (SITE_HOST, cat)
    home = "//%s/" % SITE_HOST
    if html:
        return ('\n<p><a href="%s">%s</a></p>\n<p><a href="%s">返回%s新闻</a>｜'
                '<a href="%s">返回首页</a></p>\n' % (src, src, back, cat_zh, home))
    return "\n\n<%s>\n\n[返回%s新闻](%s)｜[返回首页](%s)\n" % (src, cat_zh, back, home)


def html_body(rng, pool, target, cat, cat_zh, code, html_file, extra=""):
    paras = [pool.text(rng.randint(300, 800))]
    size = len(paras[0]) * 3
    while size < target - 300:
        head = rng.choice(SUBHEADS)
        para = pool.text(min(rng.randint(400, 1600), max(200, target - 300 - size)))
        paras.append(head)
        paras.append(para)
        size += (len(head) + len(para)) * 3 + 20
    body = "<p>" + "</p>\n <p>".join(paras) + "</p>"
    body += '<p class="em_media">（文章来源：%s）</p>' % cat_zh
    return body + extra + tail_links(cat, cat_zh, code, html_file)


def markdown_body(rng, pool, target, cat, cat_zh, code, extra=""):
    parts = [pool.text(rng.randint(300, 700))]
    size = len(parts[0]) * 3
    section = 0
    while size < target - 400 or section < 2:
        section += 1
        parts.append("## " + rng.choice(SUBHEADS))
        para = pool.text(min(rng.randint(400, 1400), max(200, target - 400 - size)))
        parts.append(para)
        size += len(para) * 3 + 40
        if section == 1:
            parts.append("\n".join("- " + x for x in rng.sample(MD_ITEMS, rng.randint(2, 4))))
            parts.append("![%s](images/%s/%s-1.jpg)" % (rng.choice(SUBHEADS), cat, code))
        elif section == 2:
            parts.append("### " + rng.choice(SUBHEADS))
            parts.append("\n".join("%d. %s" % (i + 1, x)
                                   for i, x in enumerate(rng.sample(MD_ITEMS, 3))))
            parts.append("> " + pool.text(150))
            parts.append("![](/assets/img/%s.png)" % code)
    parts.append("（文章来源：%s）" % cat_zh)
    return "\n\n".join(parts) + extra + tail_links(cat, cat_zh, code, False)


# ---------------------------------------------------------------------------
# Posts that use what Jekyll renders beyond plain HTML and Markdown (RICH_SHARE of all posts):
# Liquid (site and page variables, _data, an include with parameters, post_url, highlight,
# raw, a for loop with a filter) and kramdown's Markdown (bold next to full-width
# punctuation, smart quotes and dashes, footnotes, a table, attribute lists). Drawn from a
# second random stream, so every other post is the same as without them.
RICH_SHARE = 0.03
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
EN_PHRASES = ["soft landing", "risk-off", "higher for longer", "new quality productive forces",
              "de-risking", "carry trade"]


def rich_markdown(rr, pool, cat, cat_zh, code, when, earlier):
    """A Markdown block (Liquid and kramdown) for a .md post, placed before the tail links."""
    s = lambda k: "".join(rr.choices(pool.sentences, k=k))  # noqa: E731  (no main-rng draw)
    sub = rr.choice(SUBHEADS)
    metric = rr.sample(METRICS, 3)
    out = [
        "本文由{{ site.title }}整理，责任编辑：{{ site.data.desk.editor }}，"
        "发布于{{ page.date | date: \"%Y年%m月%d日\" }}。",
        "记者：**%s某（实习）**报道。**“%s”**成为今年的关键词，%s"
        % (rr.choice(SURNAMES), sub, s(1)),
        "有外资机构在报告中使用了 \"%s\" 一词--这是 '%s' 以来的第%d次...%s\n{: .lead}"
        % (rr.choice(EN_PHRASES), rr.choice(EN_PHRASES), rr.randint(2, 9), s(1)),
        "## %s" % rr.choice(SUBHEADS),
        "%s据统计[^n1]，%s" % (s(1), s(1)),
        "| 指标 | 数值（亿元） | 同比 |\n| --- | ---: | ---: |\n"
        + "\n".join("| %s | %.1f | %.1f%% |" % (m, rr.uniform(10, 9000), rr.uniform(-5, 25))
                    for m in metric) + "\n{: .data-table}",
    ]
    if earlier:
        out.append("相关阅读：[%s]({%% post_url %s %%})" % (rr.choice(SUBHEADS), rr.choice(earlier)))
    if rr.random() < 0.5:
        out.append("{%% highlight json %%}\n{\"metric\": \"%s\", \"value\": %.1f, \"unit\": \"%%\"}\n"
                   "{%% endhighlight %%}" % (metric[0], rr.uniform(1, 30)))
    else:
        out.append("模板示例：{% raw %}{{ site.title }}{% endraw %}原样显示。")
    out.append('{%% include source.html outlet="%s" url="http://%s/article/show.html?id=%s" %%}'
               % (cat_zh, SOURCE_HOST, code))
    out.append("更多：{% for link in site.data.desk.links %}[{{ link.name }}]"
               "({{ link.path | relative_url }}){% unless forloop.last %}｜{% endunless %}"
               "{% endfor %}")
    out.append("[^n1]: 数据来源：%s统计部门，截至%d年%d月。" % (cat_zh, when.year, when.month))
    return "\n\n" + "\n\n".join(out)


def rich_html(rr, pool, cat, cat_zh, code, earlier):
    """A Liquid block for an .html post (no Markdown there)."""
    out = ["<p>本文由{{ site.title }}整理，责任编辑：{{ site.data.desk.editor }}。</p>",
           '{%% include source.html outlet="%s" url="http://%s/article/show.html?id=%s" %%}'
           % (cat_zh, SOURCE_HOST, code)]
    if earlier:
        out.append('<p>相关阅读：<a href="{%% post_url %s %%}">%s</a></p>'
                   % (rr.choice(earlier), rr.choice(SUBHEADS)))
    return "\n" + "\n".join(out)


INCLUDE_SOURCE = (
    '<p class="source">（原文：<a href="{{ include.url }}">{{ include.outlet }}</a>，'
    '由{{ site.title }}转载）</p>\n'
)
LAYOUT_POST = (
    "<!DOCTYPE html>\n"
    '<html lang="{{ site.lang }}">\n'
    '<head><meta charset="utf-8"><title>{{ page.title }} | {{ site.title }}</title></head>\n'
    "<body><article>\n"
    "<h1>{{ page.title }}</h1>\n"
    '<p class="meta">{{ page.date | date: "%Y-%m-%d %H:%M" }} · {{ page.categories | join: " " }}'
    "</p>\n"
    "{{ content }}\n"
    "</article></body>\n"
    "</html>\n"
)


def write_site_files(out, cats):
    """_includes/source.html, _data/desk.yml and _layouts/post.html (a minimal page, so that
    the real Jekyll builds the site as a site with a theme would, without a warning a post)."""
    files = {
        "_includes/source.html": INCLUDE_SOURCE,
        "_data/desk.yml": (
            "editor: 张晓明\n"
            "links:\n"
            + "".join("  - name: %s\n    path: /%s/\n" % (zh, py) for py, zh in cats[:3])
            + "  - name: 首页\n    path: /\n"
        ),
        "_layouts/post.html": LAYOUT_POST,
    }
    for rel, text in files.items():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)


def tags_lines(rng, tags):
    r = rng.random()
    if r < 0.03:
        return "tags: [" + ", ".join(tags) + "]\n"
    if r < 0.05:
        return "tags:\n" + "".join("  - " + t + "\n" for t in tags)
    return "tags: " + " ".join(tags) + "\n"


def write_config(out, title, cats):
    """The site's settings: gazette's, and jekyll-feed's as the site had them before (the
    same feeds where jekyll-feed can make them: it skips tags that are not ASCII words)."""
    text = (
        "title: %s\n"
        "description: 多家财经媒体新闻的镜像（gazette 基准测试用的合成站点）\n"
        "url: \"%s\"\n"
        "baseurl: \"\"\n"
        "timezone: Asia/Shanghai\n"
        "lang: zh-CN\n"
        "\n"
        "plugins: [jekyll-feed]\n"
        "feed:\n"
        "  posts_limit: 20\n"
        "  tags: true\n"
        "  categories: [%s]\n"
        "\n"
        "gazette:\n"
        "  tag_feeds: true\n"
        "  items: 20\n" % (title, SITE_URL, ", ".join(py for py, _ in cats))
    )
    with open(os.path.join(out, "_config.yml"), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def generate(posts, k, seed, out):
    rng = random.Random(seed)
    pool = Pool(rng)
    cats = categories(k)
    cat_cum, acc = [], 0.0
    for rank in range(1, k + 1):
        acc += 1.0 / rank ** 1.1
        cat_cum.append(acc)
    hour_cum, acc = [], 0
    for w in HOUR_WEIGHTS:
        acc += w
        hour_cum.append(acc)
    first_day = dt.date(2018, 1, 1).toordinal()
    days = dt.date(2024, 12, 31).toordinal() - first_day + 1

    posts_dir = os.path.join(out, "_posts")
    os.makedirs(posts_dir, exist_ok=True)
    write_config(out, "财经快讯镜像站", cats)
    write_site_files(out, cats)
    rich_rng = random.Random("rich-%d" % seed)  # str seeds hash with SHA-512: deterministic
    names = []  # earlier posts' names without extension, for {% post_url %}

    stamps = []  # (datetime, category index) of earlier posts, for identical timestamps
    total = 0
    for i in range(posts):
        ci = rng.choices(range(k), cum_weights=cat_cum)[0]
        if stamps and rng.random() < 0.03:
            when, other = stamps[rng.randrange(len(stamps))]
            if rng.random() < 0.5:
                ci = other
        else:
            day = dt.date.fromordinal(first_day + rng.randrange(days))
            hour = rng.choices(range(24), cum_weights=hour_cum)[0]
            when = dt.datetime(day.year, day.month, day.day, hour,
                               rng.randrange(60), rng.randrange(60))
        stamps.append((when, ci))
        cat, cat_zh = cats[ci]
        day_s = "%04d-%02d-%02d" % (when.year, when.month, when.day)
        time_s = "%02d:%02d:%02d" % (when.hour, when.minute, when.second)
        code = "%04d%02d%02d%02d%02d%04d%x" % (when.year, when.month, when.day, when.hour,
                                               when.minute, rng.randrange(10000), i)

        kind = rng.random()
        ext = "html" if kind < 0.04 else "md"
        markdown = ext == "md" and kind < 0.08

        words = rng.sample(SLUG_SYLLABLES, rng.randint(2, 3))
        name = "%s-%s-%s.%s" % (day_s, "-".join(words), _base36(i), ext)

        tags = [cat_zh + "新闻"] + rng.sample(TAG_POOL, rng.choice((0, 0, 1, 1, 2)))
        target = int(2048 * 4 ** rng.random())  # 2-8 KB, log-uniform
        extra = ""
        if rich_rng.random() < RICH_SHARE:
            earlier = names[-500:]
            if ext == "html":
                extra = rich_html(rich_rng, pool, cat, cat_zh, code, earlier)
            else:
                extra = rich_markdown(rich_rng, pool, cat, cat_zh, code, when, earlier)
        names.append(name[: -len(ext) - 1])
        if markdown:
            body = markdown_body(rng, pool, target, cat, cat_zh, code, extra)
        else:
            body = html_body(rng, pool, target, cat, cat_zh, code, ext == "html", extra)

        data = (
            "---\nlayout: post\ntitle: " + yaml_quoted(make_title(rng))
            + "\ndate: " + day_s + " " + time_s + " +0800"
            + "\ncategories: " + cat + "\n" + tags_lines(rng, tags) + "---\n" + body
        ).encode("utf-8")
        fd = os.open(os.path.join(posts_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        total += len(data)
    return total


def _base36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = digits[r] + s
        if n == 0:
            return s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, required=True, metavar="N")
    ap.add_argument("--categories", type=int, required=True, metavar="K")
    ap.add_argument("--seed", type=int, default=1, metavar="S")
    ap.add_argument("--out", required=True, metavar="DIR")
    args = ap.parse_args(argv)
    if args.posts < 0 or args.categories < 1:
        ap.error("need --posts >= 0 and --categories >= 1")
    total = generate(args.posts, args.categories, args.seed, args.out)
    print("%d posts, %d bytes, %d categories in %s"
          % (args.posts, total, args.categories, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
