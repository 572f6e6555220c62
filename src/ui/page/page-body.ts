// The live view's markup: the frame the script (page/client/) fills in.

const PHASES = ['credentials', 'queue', 'dns', 'tcp', 'tls', 'upload', 'server', 'transfer'];

const selectFilter = (name: string, label: string, options = '') =>
  `<label>${label} <select id="filter-${name}" name="${name}"><option value="">all</option>${options}</select></label>`;

const STATUS_OPTIONS = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'].map((c) => `<option value="${c}">${c === 'none' ? 'no answer' : c}</option>`).join('');

export const PAGE_BODY = `<body data-connection="connecting">
<header>
<h1>kube-auth-proxy · live traffic</h1>
<span id="connection">connecting…</span>
<button id="pause" type="button" aria-pressed="false">Pause</button>
</header>
<main>
<section class="charts" aria-label="summary">
<figure><figcaption>Requests per second by status</figcaption><svg id="chart-rate" viewBox="0 0 600 100" preserveAspectRatio="none" role="img" aria-label="requests per second"></svg>
<div class="legend">${['1xx', '2xx', '3xx', '4xx', '5xx', 'none'].map((c) => `<span class="rate-key" data-class="${c}">${c}</span>`).join('')}</div>
<div class="caption" id="rate-caption"></div></figure>
<figure><figcaption>Latency per resource (recent requests)</figcaption>
<table><thead><tr><th>resource</th><th>n</th><th>p50</th><th>p90</th><th>p99</th><th></th></tr></thead><tbody id="latency-body"></tbody></table></figure>
<figure><figcaption>Upstream connections</figcaption><svg id="chart-connections" viewBox="0 0 600 100" preserveAspectRatio="none" role="img" aria-label="upstream connections"></svg>
<div class="caption" id="connections-caption"></div></figure>
</section>
<h2>Open streams (<span id="streams-count">0</span>)</h2>
<table id="streams"><thead><tr><th>kind</th><th>client</th><th>verb</th><th>resource</th><th>namespace</th><th>name</th><th>age</th><th>↑ bytes</th><th>↓ bytes</th><th>Audit-ID</th></tr></thead>
<tbody id="streams-body"></tbody></table>
<p class="caption" id="streams-empty">No watch, log follow, exec, attach or port-forward is open.</p>
<h2>Requests <span id="requests-count"></span> <span id="held"></span> <span id="skipped"></span></h2>
<form id="filters">
${selectFilter('verb', 'verb')}${selectFilter('resource', 'resource')}${selectFilter('namespace', 'namespace')}${selectFilter('status', 'status', STATUS_OPTIONS)}${selectFilter('client', 'client')}
<label>text <input id="filter-text" name="text" type="search" placeholder="URL, name, Audit-ID…"></label>
<label>waterfall <select id="axis-mode" name="axis"><option value="start">from each request's start</option><option value="clock">on the wall clock</option></select></label>
</form>
<div class="legend">${PHASES.map((p) => `<span class="key-${p}">${p}</span>`).join('')}</div>
<table id="requests"><thead><tr><th>time</th><th>client</th><th>verb</th><th>resource</th><th>namespace</th><th>name</th><th>status</th><th>duration</th><th>bytes</th><th>Audit-ID</th><th class="col-waterfall"><div id="axis"></div></th></tr></thead>
<tbody id="requests-body"></tbody></table>
</main>
<aside id="details" hidden><button id="details-close" type="button">close</button><div id="details-body"></div></aside>
</body>`;
