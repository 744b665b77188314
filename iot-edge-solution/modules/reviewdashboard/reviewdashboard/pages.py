"""HTML pages. Every value from storage is escaped; links carry no credential."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote, urlencode

from .frames import Frame
from .labels import MAX_TEXT, Sidecar
from .storage import Filters, Page

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#1f2933;color:#fff;padding:.6rem 1rem;display:flex;gap:1.5rem;
align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header a.on{border-bottom:2px solid #7cc}
main{padding:1rem}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));
gap:.8rem}.card{background:#fff;border-radius:6px;padding:.4rem;box-shadow:0 1px 2px #0002}
.card img{width:100%;height:auto;display:block}.card p{margin:.3rem 0 0;font-size:.8rem}
form{margin-bottom:1rem;display:flex;gap:.6rem;flex-wrap:wrap;align-items:end}
label{font-size:.8rem;display:flex;flex-direction:column}
.counter{font-size:.8rem;opacity:.9}.stage{position:relative;display:inline-block;max-width:100%}
.stage img{max-width:100%;display:block}.stage svg{position:absolute;inset:0;width:100%;
height:100%}polygon{fill:none;stroke:#f0a;stroke-width:2;vector-effect:non-scaling-stroke}
svg text.label{fill:#f0a;paint-order:stroke;stroke:#fff;stroke-width:3px}
#texts li{font-family:ui-monospace,monospace}#texts .unread{color:#888;font-style:italic}
table{border-collapse:collapse;margin-top:1rem}td,th{padding:.2rem .6rem;border-bottom:1px solid
#ccc;text-align:left}.empty{padding:2rem;color:#666}
header form.signout{margin:0 0 0 auto}.signin{max-width:22rem;margin:3rem auto;background:#fff;
padding:1.2rem;border-radius:6px;box-shadow:0 1px 2px #0002;flex-direction:column;
align-items:stretch}.error{color:#b00020;margin:0}
.live iframe{width:100%;height:75vh;border:0;background:#111;border-radius:6px}
.live h2{font-size:1rem;margin:.8rem 0 .3rem}
#labels{padding-left:2rem}#labels li{margin:.25rem 0}#labels form{margin:0;flex-wrap:nowrap;
align-items:center}#labels input[name=text]{font-family:ui-monospace,monospace;width:24rem;
max-width:60vw}#labels .read{font-size:.8rem;color:#555}.status{font-size:.8rem;
padding:.1rem .4rem;border-radius:3px;background:#ddd}.status.confirmed{background:#cfc}
.status.corrected{background:#cdf}.status.ignored{background:#eee;color:#777}
.status.error{background:#fdd;color:#b00020}.hint{font-size:.8rem;color:#555}
"""

LIVE_JS = """
async function refresh(){
  try{
    const r=await fetch('/api/counters',{cache:'no-store'});
    if(!r.ok)return;
    const data=await r.json();
    for(const [name,c] of Object.entries(data.containers)){
      const el=document.querySelector('[data-counter="'+name+'"]');
      if(el)el.textContent=c.last_hour+(c.capped?'+':'')+' in the last hour';
    }
  }catch(e){}
}
refresh();setInterval(refresh,(parseFloat(document.body.dataset.interval)||5)*1000);
"""

LABEL_JS = """
function lines(){return Array.from(document.querySelectorAll('#labels form.line'));}
function focusAfter(form){
  const all=lines(),next=all[all.indexOf(form)+1];
  const field=(next||form).querySelector('input[name=text]');
  field.focus();field.select();
}
async function send(form,action){
  const status=form.querySelector('.status');
  const body=new URLSearchParams({index:form.dataset.index,action:action,
    text:form.querySelector('input[name=text]').value});
  try{
    const r=await fetch(form.getAttribute('action'),{method:'POST',body:body,
      headers:{'Accept':'application/json'},credentials:'same-origin'});
    if(!r.ok){status.className='status error';status.textContent=await r.text();return;}
    const line=await r.json();
    status.className='status '+line.status;status.textContent=line.status;
    form.closest('li').dataset.status=line.status;
    if(line.status!=='ignored')form.querySelector('input[name=text]').value=line.label;
    focusAfter(form);
  }catch(e){status.className='status error';status.textContent='not saved: '+e;}
}
for(const form of lines()){
  form.addEventListener('submit',e=>{
    e.preventDefault();
    send(form,e.submitter&&e.submitter.value==='ignore'?'ignore':'confirm');
  });
  form.querySelector('input[name=text]').addEventListener('keydown',e=>{
    if(e.key==='Escape'){e.preventDefault();send(form,'ignore');}
  });
}
"""


def _head(title: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)} · review dashboard</title>"
        f"<link rel=stylesheet href=/static/style.css></head>"
    )


def layout(
    title: str,
    containers: tuple[str, ...],
    active: str,
    body: str,
    interval: float,
    signout: bool = False,
) -> str:
    """A dashboard page: tabs with live counters, a sign-out button when sign-in is on."""
    button = (
        (
            '<form method=post action=/signout class=signout><button id=signout>Sign out'
            '</button></form>'
        )
        if signout
        else ""
    )
    tabs = "".join(
        f'<a href="/c/{quote(c)}" class="{"on" if c == active else ""}">{escape(c)}</a>'
        f' <span class="counter" data-counter="{escape(c)}">…</span>'
        for c in containers
    )
    tabs += f'<a href="/live" class="{"on" if active == "/live" else ""}" id=live-tab>Live</a>'
    return (
        f"{_head(title)}<body data-interval='{interval:g}'><header><strong>Review "
        f"dashboard</strong>{tabs}{button}</header>"
        f"<main>{body}</main><script src=/static/live.js></script></body></html>"
    )


def signin(next_path: str, error: str) -> str:
    """The sign-in form; `next_path` is where a successful sign-in goes."""
    message = f"<p class=error id=error>{escape(error)}</p>" if error else ""
    return (
        f"{_head('sign in')}<body><header><strong>Review dashboard</strong></header>"
        f"<main><form method=post action=/signin class=signin><h1>Sign in</h1>{message}"
        f"<label>Access token<input type=password name=token id=token required "
        f"autocomplete=current-password autofocus></label>"
        f'<input type=hidden name=next value="{escape(next_path)}">'
        f"<button id=submit>Sign in</button></form></main></body></html>"
    )


def _time_value(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M") if value is not None else ""


def listing(container: str, page: Page, filters: Filters) -> str:
    """The thumbnail grid of one container, with filters and a next-page link."""
    form = (
        f'<form method=get action="/c/{quote(container)}">'
        f'<label>source contains<input name=source value="{escape(filters.source)}"></label>'
        f'<label>since (UTC)<input type=datetime-local name=since '
        f'value="{_time_value(filters.since)}"></label>'
        f'<label>until (UTC)<input type=datetime-local name=until '
        f'value="{_time_value(filters.until)}"></label>'
        f'<button>Filter</button> <a href="/c/{quote(container)}">clear</a></form>'
    )
    cards = "".join(_card(frame) for frame in page.frames)
    grid = (
        f'<div class=grid id=frames>{cards}</div>'
        if cards
        else '<p class=empty>No frames match.</p>'
    )
    more = ""
    if page.next_token:
        query = {
            "page": page.next_token,
            "source": filters.source,
            "since": _time_value(filters.since),
            "until": _time_value(filters.until),
        }
        query = {k: v for k, v in query.items() if v}
        more = (
            f'<p><a id=next href="/c/{quote(container)}?{escape(urlencode(query))}">'
            f'Older frames →</a></p>'
        )
    return f"<h1>{escape(container)}</h1>{form}{grid}{more}"


def _card(frame: Frame) -> str:
    link = f"/c/{quote(frame.container)}/f/{quote(frame.name)}"
    low = f"{frame.min_score:.2f}" if frame.min_score is not None else "–"
    return (
        f'<div class=card><a href="{link}"><img class=thumb loading=lazy '
        f'src="/thumbs/{quote(frame.container)}/{quote(frame.name)}" '
        f'alt="{escape(frame.name)}"></a><p>{frame.time:%Y-%m-%d %H:%M:%S} UTC<br>'
        f'{escape(frame.source)} · {frame.count} regions · min score {low}</p></div>'
    )


def text_of(frame: Frame, i: int) -> str:
    """The text read in box i ("" when not read or not recorded)."""
    return frame.texts[i] if i < len(frame.texts) else ""


def box_title(frame: Frame, i: int, score: float) -> str:
    text = text_of(frame, i)
    return f"{i + 1}: {escape(text)} ({score:.3f})" if text else f"{i + 1}: {score:.3f}"


def box_label(frame: Frame, i: int, box: list[int], height: int) -> str:
    """The text read in box i, written just above it (inside the image at the top)."""
    text = text_of(frame, i)
    if not text:
        return ""
    size = max(10, height // 40)
    y = min(box[1::2]) - 4
    y = y if y > size else max(box[1::2]) + size
    return (
        f'<text class=label x="{min(box[0::2])}" y="{y}" font-size="{size}">{escape(text)}</text>'
    )


def text_list(frame: Frame) -> str:
    """The readings under the image, in box order ("not read" for empty ones)."""
    if not frame.texts:
        return ""
    items = "".join(
        f"<li>{escape(t)}{pattern_note(frame, i)}</li>" if t else "<li class=unread>not read</li>"
        for i, t in enumerate(frame.texts[: len(frame.boxes)])
    )
    return f"<h2>Text read</h2><ol id=texts>{items}</ol>"


def pattern_note(frame: Frame, index: int) -> str:
    """With REC_PATTERN: whether reading `index` matched it, and the raw reading when it
    differs; "" without a pattern."""
    if not frame.pattern or index >= len(frame.matched):
        return ""
    raw = frame.raw_texts[index] if index < len(frame.raw_texts) else ""
    shown = f", read {escape(raw)}" if raw and raw != frame.texts[index] else ""
    if frame.matched[index]:
        return f" <span class=match>({escape(frame.pattern)}{shown})</span>"
    return f" <span class=unread>(no {escape(frame.pattern)} match)</span>"


def label_form(frame: Frame, sidecar: Sidecar, index: int, focus: bool) -> str:
    """One read line as a form: its text to confirm or correct (Enter), or ignore (Esc)."""
    read = text_of(frame, index)
    line = sidecar.line(index)
    value = line.label if line is not None and line.status != "ignored" else read
    status = line.status if line is not None else "unlabelled"
    action = f"/c/{quote(frame.container)}/f/{quote(frame.name)}/labels"
    return (
        f'<li data-status="{status}"><form class=line method=post action="{action}" '
        f'data-index="{index}"><input type=hidden name=index value="{index}">'
        f'<input name=text value="{escape(value)}" maxlength={MAX_TEXT} autocomplete=off '
        f'spellcheck=false aria-label="line {index + 1} text"{" autofocus" if focus else ""}>'
        f"<button name=action value=confirm>Confirm</button>"
        f"<button name=action value=ignore class=ignore>Ignore</button>"
        f'<span class="status {status}">{status}</span>'
        f'<span class=read>read: {escape(read) or "(nothing)"}</span></form></li>'
    )


def labelling(frame: Frame, sidecar: Sidecar, problem: str) -> str:
    """The labelling list: one form per box, the first unlabelled line focused."""
    if not frame.boxes:
        return ""
    first = next((i for i in range(len(frame.boxes)) if sidecar.line(i) is None), -1)
    forms = "".join(label_form(frame, sidecar, i, i == first) for i in range(len(frame.boxes)))
    note = f"<p class=error id=label-problem>{escape(problem)}</p>" if problem else ""
    return (
        f"<h2>Labels</h2>{note}<p class=hint>Enter: confirm the text (corrected when "
        f"edited) · Esc: ignore the line · Tab: move without labelling. Labels are kept "
        f"beside the frame, never in it.</p><ol id=labels>{forms}</ol>"
        f"<script src=/static/labels.js></script>"
    )


def detail(frame: Frame, sidecar: Sidecar | None = None, problem: str = "") -> str:
    """One frame at full size with its boxes (and the text read in each) drawn over it,
    its readings listed under it and its scores in a table."""
    width, height = frame.width or 1, frame.height or 1
    polygons = "".join(
        f'<polygon class=box points="{" ".join(f"{box[i]},{box[i + 1]}" for i in range(0, 8, 2))}">'
        f"<title>{box_title(frame, n, score)}</title></polygon>"
        f"{box_label(frame, n, box, height)}"
        for n, (box, score) in enumerate(zip(frame.boxes, frame.scores))
    )
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{score:.3f}</td><td>{escape(text_of(frame, i))}</td>"
        f"<td>{escape(str(box))}</td></tr>"
        for i, (box, score) in enumerate(zip(frame.boxes, frame.scores))
    )
    image = f"/images/{quote(frame.container)}/{quote(frame.name)}"
    return (
        f'<p><a href="/c/{quote(frame.container)}">← {escape(frame.container)}</a></p>'
        f"<h1>{escape(frame.name)}</h1>"
        f'<div class=stage><img id=frame src="{image}" alt="frame">'
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none">{polygons}</svg>'
        f"</div><table><tr><th>time</th><td>{frame.time:%Y-%m-%d %H:%M:%S.%f} UTC</td></tr>"
        f"<tr><th>source</th><td>{escape(frame.source)}</td></tr>"
        f"<tr><th>frame</th><td>{escape(frame.frame)}</td></tr>"
        f"<tr><th>model</th><td>{escape(frame.model)}</td></tr>"
        f"<tr><th>regions</th><td>{frame.count}</td></tr></table>"
        f"{text_list(frame)}"
        f"{labelling(frame, sidecar or Sidecar(frame.container, frame.name), problem)}"
        f"<table id=scores><tr><th>#</th><th>score</th><th>text</th>"
        f"<th>box (x,y × 4)</th></tr>{rows}</table>"
    )


def index(containers: tuple[str, ...]) -> str:
    items = "".join(
        f'<li><a href="/c/{quote(c)}">{escape(c)}</a> '
        f'<span class=counter data-counter="{escape(c)}">…</span></li>'
        for c in containers
    )
    export = (
        "<form method=post action=/export id=export><button>Export labelled lines</button>"
        "<span class=hint>a zip of the training dataset (train.txt, val.txt, crops, "
        "detection labels)</span></form>"
    )
    return f"<h1>Archived frames</h1><ul>{items}</ul>{export}"
