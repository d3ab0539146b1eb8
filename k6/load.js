// k6 load test: the expected busy hour, for LOAD_DURATION (10m), as open
// arrival rates (requests keep coming whether or not the service keeps up,
// as real clients do):
//   browse    BROWSE_RATE (400)/s   read-heavy browsing (lib/mix.js weights)
//   children  CHILD_RATE (2)/s      POST /api/children
//   ranks     RANK_RATE (8)/s       PATCH /api/children/{id}
//   login     LOGIN_RATE (20)/min   POST /api/auth/token, from the second minute
//                                   (the service allows 30 a minute per address)
// The same mix as loadtest/mix.lua, which `make loadtest` plays with wrk.
//   k6 run -e STAFF_PASSWORD="$(cat .run/admin-password)" k6/load.js
import { buildFamilies } from './lib/family.js';
import { addChild, browse, editRank, logIn } from './lib/mix.js';
import { summaryFiles } from './lib/summary.js';

export { browse, addChild, editRank, logIn };

const duration = __ENV.LOAD_DURATION || '10m';
const rate = (name, fallback) => parseInt(__ENV[name] || `${fallback}`, 10);

function constant(exec, perSecond, timeUnit = '1s', extra = {}) {
  return Object.assign({
    executor: 'constant-arrival-rate', exec, rate: perSecond, timeUnit, duration,
    preAllocatedVUs: Math.max(2, Math.ceil(perSecond / 10)), maxVUs: Math.max(10, perSecond),
  }, extra);
}

export const options = {
  setupTimeout: '5m',
  scenarios: {
    browse: constant('browse', rate('BROWSE_RATE', 400)),
    children: constant('addChild', rate('CHILD_RATE', 2)),
    ranks: constant('editRank', rate('RANK_RATE', 8)),
    login: constant('logIn', rate('LOGIN_RATE', 20), '1m',
      { startTime: '1m', preAllocatedVUs: 2, maxVUs: 5 }),
  },
  // What the service promises at this load (docs/load-test.md has the
  // figures these come from, measured with wrk on 2 cores).
  thresholds: {
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
    dropped_iterations: ['count<10'],  // the client kept up: the figures are the server's
    'http_req_duration{scenario:browse}': ['p(95)<50', 'p(99)<200'],
    'http_req_duration{scenario:children}': ['p(95)<100', 'p(99)<500'],
    'http_req_duration{scenario:ranks}': ['p(95)<100', 'p(99)<500'],
    'http_req_duration{scenario:login}': ['p(95)<500', 'p(99)<1000'],
    login_throttled: ['rate==0'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

export function setup() {
  return buildFamilies();
}

export function handleSummary(data) {
  return summaryFiles(data, 'k6 load');
}
