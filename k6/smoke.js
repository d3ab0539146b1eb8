// k6 smoke test: one user plays every kind of request once per iteration
// and checks the answers; any failure fails the run. Run it first, and
// after every deployment:
//   k6 run -e STAFF_PASSWORD="$(cat .run/admin-password)" k6/smoke.js
// BASE_URL (http://127.0.0.1:8000, nginx), STAFF_EMAIL, FAMILIES/DEPTH/KIDS:
// see lib/family.js.
import { check } from 'k6';
import http from 'k6/http';
import { get, send } from './lib/api.js';
import { buildFamilies } from './lib/family.js';
import { summaryFiles } from './lib/summary.js';

export const options = {
  setupTimeout: '5m',
  scenarios: {
    smoke: { executor: 'shared-iterations', vus: 1, iterations: 5, maxDuration: '2m' },
  },
  thresholds: {
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
    'http_req_duration{scenario:smoke}': ['p(95)<500'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

export function setup() {
  return buildFamilies();
}

export default function (data) {
  const u = data.users[0];
  const child = u.children[0];
  const p = get(`/api/persons/${child}`, u.token, 'GET /api/persons/{id}');
  check(p, {
    'person: 200': (r) => r.status === 200,
    'person: the JSON of SPEC section 7': (r) => ['id', 'father_id', 'mother_id', 'father_rank',
      'mother_rank', 'partner_id', 'generation', 'ancestor_relationship_rank']
      .every((k) => k in r.json()),
    'person: a strong ETag': (r) => /^"/.test(r.headers.Etag || r.headers.ETag || ''),
  });
  const etag = p.headers.Etag || p.headers.ETag;
  check(get(`/api/persons/${child}`, u.token, 'GET /api/persons/{id}',
    { headers: { 'If-None-Match': etag } }), { 'person again: 304': (r) => r.status === 304 });
  check(get(`/api/persons/${child}/ancestors?depth=3`, u.token,
    'GET /api/persons/{id}/ancestors'), {
    'ancestors: the parents at depth 1': (r) =>
      r.status === 200 && r.json().some((a) => a.depth === 1),
  });
  check(get(`/api/persons/${u.id}/descendants?depth=2`, u.token,
    'GET /api/persons/{id}/descendants'), {
    'descendants: the children': (r) =>
      r.status === 200 && r.json().length >= u.children.length,
  });
  check(get('/api/children', u.token, 'GET /api/children'), {
    'children: own children': (r) => r.status === 200 && r.json().length >= u.children.length,
  });
  check(get(`/api/children/${child}`, u.token, 'GET /api/children/{id}'),
    { 'child: 200': (r) => r.status === 200 });
  check(get('/api/me', u.token, 'GET /api/me'), { 'me: 200': (r) => r.status === 200 });
  const added = send('POST', '/api/children', {
    first_name: 'Smoke', last_name: 'Test', father_id: u.father, mother_id: u.mother,
    father_rank: 4, mother_rank: 2,
  }, u.token, 'POST /api/children');
  // data.users[0] is a founder: parents without parents, ranks 4 and 2
  // make 3 (SPEC section 3, example 1).
  check(added, {
    'add child: 201': (r) => r.status === 201,
    'add child: ancestor_relationship_rank 3': (r) =>
      r.status === 201 && r.json('ancestor_relationship_rank') === 3,
  });
  const edited = send('PATCH', `/api/children/${child}`, { [u.rankField]: 5 }, u.token,
    'PATCH /api/children/{id}');
  check(edited, {
    'rank edit: 200 and seen': (r) => r.status === 200 && r.json(u.rankField) === 5,
  });
  const other = data.users.find((x) => x.father !== u.father);
  if (other) {
    check(send('PATCH', `/api/children/${child}`, { [u.rankField]: 1 }, other.token,
      'PATCH /api/children/{id}', { expected: http.expectedStatuses(403) }),
    { 'rank edit by someone else: 403': (r) => r.status === 403 });
  }
}

export function handleSummary(data) {
  return summaryFiles(data, 'k6 smoke');
}
