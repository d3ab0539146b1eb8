// handleSummary for every script: the whole summary as JSON (SUMMARY_JSON,
// default summary.json, for CI and for comparing runs) and a short text
// report on stdout: the thresholds, then latency and rates per scenario.
// Written here rather than imported from jslib.k6.io so that a run needs no
// network access.

function fmt(metric, value) {
  if (value === undefined || value === null) return '-';
  if (metric.contains === 'time') {
    return value >= 1000 ? `${(value / 1000).toFixed(2)}s` : `${value.toFixed(2)}ms`;
  }
  if (metric.type === 'rate') return `${(value * 100).toFixed(2)}%`;
  return Number.isInteger(value) ? `${value}` : value.toFixed(2);
}

function values(metric) {
  const v = metric.values;
  switch (metric.type) {
    case 'trend':
      return ['med', 'p(95)', 'p(99)', 'max'].map((k) => `${k}=${fmt(metric, v[k])}`).join(' ');
    case 'rate':
      return `${fmt(metric, v.rate)} (${v.passes} of ${v.passes + v.fails})`;
    case 'counter':
      return `${v.count} (${v.rate.toFixed(2)}/s)`;
    default:
      return `value=${v.value} min=${v.min} max=${v.max}`;
  }
}

export function textSummary(data, title) {
  const lines = [`\n${title}: ${(data.state.testRunDurationMs / 1000).toFixed(0)} s`];
  const names = Object.keys(data.metrics).sort();
  let failed = 0;
  lines.push('thresholds:');
  for (const name of names) {
    const m = data.metrics[name];
    for (const [expr, result] of Object.entries(m.thresholds || {})) {
      if (!result.ok) failed++;
      lines.push(`  ${result.ok ? 'ok  ' : 'FAIL'} ${name} ${expr}: ${values(m)}`);
    }
  }
  lines.push('metrics:');
  for (const name of ['http_reqs', 'http_req_failed', 'http_req_duration', 'iterations',
    'dropped_iterations', 'checks', 'login_throttled', 'vus_max']) {
    if (data.metrics[name]) lines.push(`  ${name}: ${values(data.metrics[name])}`);
  }
  lines.push(failed ? `${failed} thresholds failed` : 'every threshold passed');
  return `${lines.join('\n')}\n`;
}

export function summaryFiles(data, title) {
  return {
    stdout: textSummary(data, title),
    [__ENV.SUMMARY_JSON || 'summary.json']: JSON.stringify(data, null, 1),
  };
}
