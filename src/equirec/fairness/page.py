"""The shell of the self-contained HTML pages (audit report, sweep page) and their pieces.

:func:`html_page` assembles a page from a header and section renderers, with the shared
stylesheet :data:`CSS` inline; :func:`esc` escapes text for HTML; :func:`html_table`,
:func:`kv_table`, :func:`figure` and :func:`na_text` are the building blocks of sections.
Nothing is fetched from the network: no script, font, image or other resource.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = [
    "CSS",
    "esc",
    "figure",
    "html_page",
    "html_table",
    "kv_table",
    "na_text",
]


def esc(value: Any) -> str:
    """HTML-escaped text of anything (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def html_table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table; ``head`` and cells are already-escaped HTML."""
    c = f' class="{cls}"' if cls else ""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in r) + "</tr>" for r in rows)
    return (
        f'<div class="table-wrap"><table{c}><thead><tr>{th}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def kv_table(rows: Iterable[tuple[str, str, str]]) -> str:
    """``(name, value, explanation)`` rows, already escaped."""
    body = "".join(
        f'<tr><th scope="row">{k}'
        + (f'<span class="explain">{e}</span>' if e else "")
        + f'</th><td class="num">{v}</td></tr>'
        for k, v, e in rows
    )
    return f'<div class="table-wrap"><table class="kv"><tbody>{body}</tbody></table></div>'


def na_text(what: str) -> str:
    """A "not available" paragraph (``what`` is escaped here)."""
    return f'<p class="na-text">{esc(what)}</p>'


def figure(svg: str, caption: str = "") -> str:
    """A ``<figure>``; ``svg`` and ``caption`` are already-escaped HTML."""
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure>{svg}{cap}</figure>"


def html_page(
    title: str, header: str, sections: Sequence[tuple[str, Callable[[], str]]], *, css: str
) -> str:
    """A self-contained page: ``header`` then every section; a section that fails to render is
    replaced by a one-line note instead of costing the whole page."""
    body = [header]
    for name, part in sections:
        try:
            body.append(part())
        except Exception as err:  # a malformed section must not cost the whole page
            body.append(
                f'<section id="{name}"><h2>{esc(name.title())}</h2>'
                f'<p class="na-text">This section could not be rendered: '
                f"{esc(type(err).__name__)}: {esc(err)}</p></section>"
            )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{css}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


CSS = """
:root{--ink:#1f2933;--muted:#667085;--line:#e4e7ec;--soft:#f5f6f8;--blue:#0072B2;
--orange:#E69F00;--verm:#D55E00;--green:#009E73}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--ink);font:15px/1.55 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{max-width:1000px;margin:0 auto;padding:36px 28px 56px}
h1{font-size:1.8rem;line-height:1.2;margin:0 0 .35rem;letter-spacing:-.015em}
h2{font-size:1.35rem;margin:2.6rem 0 .8rem;padding-top:.7rem;border-top:2px solid var(--ink);
letter-spacing:-.01em}
h3{font-size:1.08rem;margin:1.8rem 0 .5rem}
h3.minor{font-size:.95rem;color:var(--muted);font-weight:600;margin:1.2rem 0 .4rem}
h4{font-size:.95rem;margin:.8rem 0 .2rem;font-weight:600}
a{color:var(--blue)}
.audited{color:var(--muted);margin:0 0 .8rem}
.audited strong{color:var(--ink)}
nav{display:flex;flex-wrap:wrap;gap:.3rem 1.1rem;font-size:.9rem;margin-bottom:1.2rem}
nav a{text-decoration:none}
nav a:hover{text-decoration:underline}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;
margin:.4rem 0 0}
.tile{background:var(--soft);border-radius:8px;padding:12px 14px}
.tile-v{font-size:1.6rem;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.2}
.tile-k{font-weight:600;font-size:.9rem}
.tile-n{color:var(--muted);font-size:.8rem}
.lead{font-size:1.05rem}
.intro,.method{color:var(--muted);font-size:.9rem;max-width:75ch}
.method{margin-top:1rem}
ul.findings{list-style:none;padding:0;margin:.4rem 0}
ul.findings li{display:flex;gap:.6rem;align-items:baseline;padding:.35rem 0;
border-bottom:1px solid var(--line)}
ul.findings li.sig{font-weight:500}
ul.findings.muted li{color:var(--muted);font-size:.92rem}
.marker{flex:none;width:1em;text-align:center}
.marker.sig{color:var(--verm)}
.marker.ns{color:#98a2b3}
.tag{display:inline-block;font-size:.75rem;font-weight:400;color:var(--muted);
background:var(--soft);border-radius:4px;padding:0 .4rem;margin-left:.2rem;white-space:nowrap}
.warnings{border-left:4px solid var(--orange);background:#fff7e6;padding:.7rem 1rem;
margin:1.2rem 0;border-radius:0 6px 6px 0;font-size:.9rem}
.warnings ul{margin:.3rem 0 0;padding-left:1.2rem}
.badge{display:inline-block;font-size:.78rem;font-weight:600;border-radius:999px;
padding:.05rem .55rem;white-space:nowrap}
.badge.sig{color:#fff;background:var(--verm)}
.badge.ns{color:var(--muted);background:var(--soft)}
.yes{color:var(--verm);font-weight:600}
.stats{display:flex;flex-wrap:wrap;gap:.3rem 1.4rem;align-items:center;font-size:.9rem;
margin:.2rem 0 1rem;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}
.small{font-size:.85rem}
.na-text{color:var(--muted);font-style:italic}
article.attr{margin-bottom:1.2rem}
figure{margin:0 0 .6rem;break-inside:avoid;page-break-inside:avoid}
figcaption{font-size:.85rem;color:var(--muted);margin-top:.2rem;max-width:80ch}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:20px 32px;
align-items:start}
.grid2.tables h3{margin-top:.6rem}
.chart{display:block;width:100%;height:auto;overflow:visible}
.chart text{font-family:inherit;font-size:12px;fill:var(--ink)}
.chart .tick{font-size:11px;fill:var(--muted);font-variant-numeric:tabular-nums}
.chart .tick.strong{fill:var(--ink);font-weight:600}
.chart .small-tick{font-size:9.5px}
.chart .axis-label{font-size:11.5px;fill:var(--muted)}
.chart .lbl{font-size:12.5px}
.chart .note{font-size:11px;fill:var(--muted)}
.chart .small-mark{fill:var(--verm);font-weight:700}
.chart .val,.chart .ref-label{paint-order:stroke;stroke:#fff;stroke-width:3px;
stroke-linejoin:round}
.chart .val{font-size:11.5px;font-variant-numeric:tabular-nums}
.chart .val.muted{fill:#8a6d1f}
.chart .val.strong{font-weight:600}
.chart .na{font-size:11px;fill:var(--muted);font-style:italic}
.chart .legend{font-size:12px;fill:var(--muted)}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .zero{stroke:#98a2b3;stroke-width:1}
.chart .err{stroke:var(--ink);stroke-width:1.3}
.chart .ref{stroke:var(--ink);stroke-width:1.3;stroke-dasharray:5 4}
.chart .ref-label{font-size:11px;fill:var(--ink);font-weight:600}
.chart .base{stroke:var(--ink);stroke-width:2;stroke-dasharray:3 2}
.chart .band{fill:var(--soft)}
.chart .bar.small{fill-opacity:.35;stroke:#0072B2;stroke-dasharray:3 2}
.small-mark{color:var(--verm);font-weight:700}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.86rem;font-variant-numeric:tabular-nums;margin:.3rem 0}
th,td{padding:.28rem .7rem;border-bottom:1px solid var(--line);text-align:right;
vertical-align:top}
thead th{border-bottom:2px solid var(--ink);font-weight:600;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
table.metrics td{white-space:nowrap}
table.metrics td .ci{font-size:.75rem;color:var(--muted)}
table.metrics tbody tr:has(i) td{background:var(--soft)}
table.kv{width:100%}
table.kv th{font-weight:600;text-align:left}
table.kv th .explain{display:block;font-weight:400;color:var(--muted);font-size:.8rem}
table.kv td.num{white-space:nowrap;font-size:.95rem;font-weight:600}
table.params th{font-weight:500;color:var(--muted);text-align:left}
table.params{width:100%}
table.params td{text-align:left;word-break:break-word}
.grid2.params{gap:0 32px}
details{margin:.4rem 0 .8rem}
details>summary{cursor:pointer;color:var(--blue);font-size:.9rem}
ul.sentences{padding-left:1.2rem;font-size:.92rem}
ul.sentences li{margin:.25rem 0}
footer .generated{color:var(--muted);font-size:.8rem;margin-top:1rem}
@media (max-width:600px){main{padding:20px 14px}.grid2{grid-template-columns:1fr}}
@media print{
body{font-size:11pt}
main{max-width:none;padding:0}
nav{display:none}
h2{break-after:avoid;page-break-after:avoid}
h3,h4{break-after:avoid}
.tile{border:1px solid var(--line)}
a{color:inherit;text-decoration:none}
.badge.sig{color:var(--verm);background:none;border:1px solid var(--verm)}
.table-wrap{overflow:visible}
table.metrics td{white-space:normal}
table.metrics td .ci{display:block}
}
"""
