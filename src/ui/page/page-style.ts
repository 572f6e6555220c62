// The live view's stylesheet, inlined into the page (one request, no CDN).

export const PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1d2430; --muted: #667085; --line: #d0d5dd; --bg: #fff; --panel: #f6f7f9; --sel: #e4ecfb;
  --credentials: #9e77ed; --queue: #98a2b3; --dns: #2e90fa; --tcp: #f79009; --tls: #ee46bc; --upload: #12b76a; --server: #1570ef; --transfer: #0e9384;
  --c1xx: #7a5af8; --c2xx: #12b76a; --c3xx: #2e90fa; --c4xx: #f79009; --c5xx: #f04438; --cnone: #98a2b3; }
@media (prefers-color-scheme: dark) { :root { --fg: #e4e7ec; --muted: #98a2b3; --line: #344054; --bg: #101828; --panel: #1d2939; --sel: #253858; } }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 12px; align-items: center; padding: 8px 16px; border-bottom: 1px solid var(--line); background: var(--panel); position: sticky; top: 0; z-index: 2; }
header h1 { font-size: 15px; margin: 0; flex: 1; }
#connection { color: var(--muted); }
body[data-connection="live"] #connection { color: var(--c2xx); }
main { padding: 8px 16px 32px; }
h2 { font-size: 14px; margin: 16px 0 6px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
figure { margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
figcaption { font-weight: 600; margin-bottom: 4px; }
figure svg { width: 100%; height: 100px; display: block; }
.caption { color: var(--muted); font-size: 12px; }
${['1xx', '2xx', '3xx', '4xx', '5xx', 'none'].map((c) => `.rate-${c} { fill: var(--c${c}); }`).join('\n')}
polyline.pool { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
.pool-0 { stroke: var(--server); } .pool-1 { stroke: var(--tls); } .pool-2 { stroke: var(--tcp); } .pool-3 { stroke: var(--dns); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 260px; }
thead th { position: sticky; top: 41px; background: var(--bg); z-index: 1; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.latency-bar { height: 8px; background: var(--server); border-radius: 2px; min-width: 1px; }
.col-bar { width: 30%; }
#requests-body tr { cursor: pointer; }
#requests-body tr:hover { background: var(--panel); }
#requests-body tr.selected { background: var(--sel); }
tr.status-4xx .col-status { color: var(--c4xx); } tr.status-5xx .col-status, tr.status-none .col-status { color: var(--c5xx); }
.col-time, .col-duration, .col-bytes, .col-age, .col-up, .col-down { font-variant-numeric: tabular-nums; }
.col-audit { font-family: ui-monospace, monospace; font-size: 11px; max-width: 120px; }
.col-waterfall { width: 32%; min-width: 200px; max-width: none; padding: 0 6px; }
svg.bar { width: 100%; height: 14px; display: block; }
rect.track { fill: var(--line); stroke: var(--muted); stroke-width: 1px; vector-effect: non-scaling-stroke; }
${['credentials', 'queue', 'dns', 'tcp', 'tls', 'upload', 'server', 'transfer'].map((p) => `.phase-${p} { fill: var(--${p}); background: var(--${p}); }`).join('\n')}
#axis { display: flex; justify-content: space-between; font-weight: 400; color: var(--muted); font-size: 11px; }
form#filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 6px; }
form#filters input[type="search"] { min-width: 220px; }
#held, #requests-count, #skipped { color: var(--muted); }
#details { position: fixed; right: 16px; bottom: 16px; width: 420px; max-height: 70vh; overflow: auto; padding: 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); box-shadow: 0 4px 16px rgb(0 0 0 / 20%); z-index: 3; }
#details dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0 0 8px; }
#details dt { color: var(--muted); } #details dd { margin: 0; word-break: break-all; }
.phase-key { color: #fff; border-radius: 3px; }
.legend { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0; color: var(--muted); font-size: 12px; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; background: var(--swatch); vertical-align: -1px; }
${['credentials', 'queue', 'dns', 'tcp', 'tls', 'upload', 'server', 'transfer'].map((p) => `.legend .key-${p} { --swatch: var(--${p}); }`).join('\n')}
${['1xx', '2xx', '3xx', '4xx', '5xx', 'none'].map((c) => `.legend .rate-key[data-class="${c}"] { --swatch: var(--c${c}); }`).join('\n')}
`;
