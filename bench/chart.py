"""A hand-made SVG line chart for bench/run.py: wall time against posts, both axes logarithmic,
one line per tool, with a legend. Stdlib only, Python 3.11; nothing is drawn that was not
measured (a series with no point is left out of the chart and the legend)."""

import math
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 900, 560
LEFT, RIGHT, TOP, BOTTOM = 78, 262, 62, 58  # the plot area's margins; the legend is on the right
FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""


def _fmt_posts(n):
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return "%dM" % (n // 1_000_000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return "{:,}".format(n)


def _fmt_seconds(s):
    if s < 1e-3:
        return "%g µs" % round(s * 1e6, 3)
    if s < 1:
        return "%g ms" % round(s * 1e3, 3)
    if s < 60:
        return "%g s" % round(s, 3)
    return "%g min" % round(s / 60, 3)


def _log_ticks(lo, hi, steps=(1, 2, 5)):
    """Values m×10^k (m in steps) within [lo, hi]."""
    out = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in steps:
            v = m * 10.0 ** k
            if lo <= v <= hi:
                out.append(v)
    return out


def svg(series, title, subtitle=""):
    """series: [{"label", "color", "dash" (SVG dasharray or ""), "points": [(posts, seconds)]}]"""
    series = [s for s in series if s["points"]]
    xs = [n for s in series for n, _ in s["points"]] or [1000]
    ys = [t for s in series for _, t in s["points"]] or [1.0]
    x_lo, x_hi = min(xs), max(xs)
    if x_lo == x_hi:
        x_lo, x_hi = x_lo / 3, x_hi * 3
    x_lo, x_hi = x_lo / 1.35, x_hi * 1.35
    y_lo, y_hi = min(ys) / 1.6, max(ys) * 1.6
    if y_hi / y_lo < 10:  # at least a decade, so the ticks make sense
        mid = math.sqrt(y_lo * y_hi)
        y_lo, y_hi = mid / math.sqrt(10), mid * math.sqrt(10)
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(n):
        return LEFT + pw * (math.log10(n) - math.log10(x_lo)) / (math.log10(x_hi) - math.log10(x_lo))

    def py(t):
        return TOP + ph * (1 - (math.log10(t) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo)))

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'role="img" aria-label="%s">' % (WIDTH, HEIGHT, WIDTH, HEIGHT, escape(title, {'"': "&quot;"})),
         '<title>%s</title>' % escape(title),
         '<rect width="100%" height="100%" fill="#ffffff"/>',
         '<text x="%d" y="26" %s font-size="17" font-weight="bold" fill="#222">%s</text>'
         % (LEFT, FONT, escape(title))]
    if subtitle:
        o.append('<text x="%d" y="46" %s font-size="12" fill="#555">%s</text>'
                 % (LEFT, FONT, escape(subtitle)))
    # Grid and ticks.
    y_steps = (1, 2, 5) if math.log10(y_hi / y_lo) < 4 else (1,)
    for v in _log_ticks(y_lo, y_hi, y_steps):
        y = py(v)
        major = abs(math.log10(v) - round(math.log10(v))) < 1e-9
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="1"/>'
                 % (LEFT, y, LEFT + pw, y, "#d0d0d0" if major else "#ececec"))
        o.append('<text x="%d" y="%.1f" %s font-size="12" fill="#333" text-anchor="end">%s</text>'
                 % (LEFT - 8, y + 4, FONT, _fmt_seconds(v)))
    x_ticks = sorted(set(_log_ticks(x_lo, x_hi, (1,))) | set(xs))
    for v in x_ticks:
        x = px(v)
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4" stroke-width="1"/>'
                 % (x, TOP, x, TOP + ph))
        o.append('<text x="%.1f" y="%d" %s font-size="12" fill="#333" text-anchor="middle">%s</text>'
                 % (x, TOP + ph + 18, FONT, _fmt_posts(int(round(v)))))
    o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888" stroke-width="1"/>'
             % (LEFT, TOP, pw, ph))
    o.append('<text x="%.1f" y="%d" %s font-size="13" fill="#222" text-anchor="middle">'
             'posts in the site (log scale)</text>' % (LEFT + pw / 2, HEIGHT - 14, FONT))
    o.append('<text transform="translate(20 %.1f) rotate(-90)" %s font-size="13" fill="#222" '
             'text-anchor="middle">wall time, whole process, median (log scale)</text>'
             % (TOP + ph / 2, FONT))
    # Lines, then points on top.
    for s in series:
        pts = sorted(s["points"])
        dash = ' stroke-dasharray="%s"' % s["dash"] if s.get("dash") else ""
        if len(pts) > 1:
            o.append('<polyline fill="none" stroke="%s" stroke-width="2.5"%s points="%s"/>'
                     % (s["color"], dash, " ".join("%.1f,%.1f" % (px(n), py(t)) for n, t in pts)))
        for n, t in pts:
            o.append('<circle cx="%.1f" cy="%.1f" r="4" fill="%s" stroke="#fff" stroke-width="1">'
                     '<title>%s: %s posts, %s</title></circle>'
                     % (px(n), py(t), s["color"], escape(s["label"]), "{:,}".format(n),
                        _fmt_seconds(t)))
    # Legend.
    lx, ly = LEFT + pw + 18, TOP + 8
    o.append('<text x="%d" y="%d" %s font-size="13" font-weight="bold" fill="#222">Legend</text>'
             % (lx, ly + 4, FONT))
    for i, s in enumerate(series):
        y = ly + 26 + i * 24
        dash = ' stroke-dasharray="%s"' % s["dash"] if s.get("dash") else ""
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"%s/>'
                 % (lx, y, lx + 28, y, s["color"], dash))
        o.append('<circle cx="%d" cy="%d" r="4" fill="%s"/>' % (lx + 14, y, s["color"]))
        o.append('<text x="%d" y="%d" %s font-size="12.5" fill="#222">%s</text>'
                 % (lx + 36, y + 4, FONT, escape(s["label"])))
    o.append("</svg>")
    return "\n".join(o) + "\n"
