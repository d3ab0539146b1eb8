// k6 stress test: the load of load.js ramped up to STRESS_FACTOR (8) times
// over 10 minutes, held, then down: where does it break, and how? Writes
// and logins grow with reads; past 30 logins a minute the throttle answers
// 429 (expected here, counted in login_throttled). The run stops early if
// more than 5% of the requests fail.
//   k6 run -e STAFF_PASSWORD="$(cat .run/admin-password)" k6/stress.js
import { buildFamilies } from './lib/family.js';
import { addChild, browse, editRank, logIn } from './lib/mix.js';
import { summaryFiles } from './lib/summary.js';

export { browse, addChild, editRank, logIn };

const factor = parseFloat(__ENV.STRESS_FACTOR || '8');

function ramp(exec, perSecond, timeUnit = '1s') {
  const top = Math.ceil(perSecond * factor);
  return {
    executor: 'ramping-arrival-rate', exec, timeUnit, startRate: perSecond,
    preAllocatedVUs: Math.max(2, Math.ceil(perSecond / 10)), maxVUs: Math.max(20, top * 2),
    stages: [
      { duration: '2m', target: perSecond },
      { duration: '10m', target: top },  // the knee is somewhere on this slope
      { duration: '3m', target: top },
      { duration: '2m', target: perSecond },  // and does it recover?
    ],
  };
}

export const options = {
  setupTimeout: '5m',
  scenarios: {
    browse: ramp('browse', 400),
    children: ramp('addChild', 2),
    ranks: ramp('editRank', 8),
    login: ramp('logIn', 20, '1m'),
  },
  thresholds: {
    http_req_failed: [{ threshold: 'rate<0.05', abortOnFail: true, delayAbortEval: '30s' }],
    'http_req_duration{scenario:browse}': ['p(99)<1000'],
    'http_req_duration{scenario:children}': ['p(99)<2000'],
    'http_req_duration{scenario:ranks}': ['p(99)<2000'],
    'http_req_duration{scenario:login}': ['p(99)<3000'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

export function setup() {
  return buildFamilies();
}

export function handleSummary(data) {
  return summaryFiles(data, 'k6 stress');
}
