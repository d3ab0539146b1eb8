// The request mix: what one iteration of each scenario does. The weights of
// browsing are loadtest/mix.lua's (wrk plays the same mix where k6 is
// missing); children creation, rank edits and logins are scenarios of their
// own so that each has its rate and thresholds.
import { check } from 'k6';
import { Rate } from 'k6/metrics';
import { OK_OR_MISSING, OK_OR_THROTTLED, get, send } from './api.js';

// Logins answered 429: the throttle (5 a minute per e-mail, 30 per address).
export const loginThrottled = new Rate('login_throttled');

// Per 1000 browsing requests (loadtest/mix.lua: "mixed" without the writes).
const BROWSE = [
  ['person', 400], ['person_cold', 150], ['ancestors', 100], ['descendants', 80],
  ['descendants_all', 20], ['children', 80], ['child', 80], ['me', 65],
];
const BROWSE_TOTAL = BROWSE.reduce((sum, [, w]) => sum + w, 0);

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

function coldOrHot(data) {
  return data.coldMax > 0 ? { id: 1 + Math.floor(Math.random() * data.coldMax), cold: true }
    : { id: pick(data.hot), cold: false };
}

export function browse(data) {
  const u = pick(data.users);
  let r = Math.random() * BROWSE_TOTAL;
  let kind = BROWSE[0][0];
  for (const [k, w] of BROWSE) {
    if (r < w) { kind = k; break; }
    r -= w;
  }
  let res;
  switch (kind) {
    case 'person': {
      const id = pick(data.hot);
      const etag = data.etags[id];
      // A third of the reads revalidate what the client has: 304 while
      // the person is unchanged.
      const headers = etag && Math.random() < 1 / 3 ? { 'If-None-Match': etag } : {};
      res = get(`/api/persons/${id}`, u.token, 'GET /api/persons/{id}', { headers });
      check(res, { 'person: 200 or 304': (x) => x.status === 200 || x.status === 304 });
      return;
    }
    case 'person_cold': {
      // Ids outside the families may have gone (404 is a fine answer).
      const p = coldOrHot(data);
      res = get(`/api/persons/${p.id}`, u.token, 'GET /api/persons/{id}',
        p.cold ? { expected: OK_OR_MISSING, tags: { cold: 'true' } } : {});
      check(res, { 'cold person: 200 or 404': (x) => x.status === 200 || x.status === 404 });
      return;
    }
    case 'ancestors': {
      const p = Math.random() < 0.5 ? coldOrHot(data) : { id: pick(data.hot), cold: false };
      res = get(`/api/persons/${p.id}/ancestors?depth=3`, u.token,
        'GET /api/persons/{id}/ancestors', p.cold ? { expected: OK_OR_MISSING } : {});
      check(res, { 'ancestors: 200': (x) => x.status === 200 || (p.cold && x.status === 404) });
      return;
    }
    case 'descendants':
      res = get(`/api/persons/${pick(data.hot)}/descendants?depth=2`, u.token,
        'GET /api/persons/{id}/descendants');
      break;
    case 'descendants_all':
      res = get(`/api/persons/${pick(data.hot)}/descendants`, u.token,
        'GET /api/persons/{id}/descendants', { tags: { depth: 'all' } });
      break;
    case 'children':
      res = get('/api/children', u.token, 'GET /api/children');
      break;
    case 'child':
      res = get(`/api/children/${pick(u.children)}`, u.token, 'GET /api/children/{id}');
      break;
    default:
      res = get('/api/me', u.token, 'GET /api/me');
  }
  check(res, { [`${kind}: 200`]: (x) => x.status === 200 });
}

// A parent adds a child of the couple.
export function addChild(data) {
  const u = pick(data.users);
  const res = send('POST', '/api/children', {
    first_name: 'K6', last_name: 'Child', father_id: u.father, mother_id: u.mother,
    father_rank: 1 + Math.floor(Math.random() * 5), mother_rank: 1 + Math.floor(Math.random() * 5),
  }, u.token, 'POST /api/children');
  check(res, { 'add child: 201': (x) => x.status === 201 });
}

// A parent changes their own rank for a child; one edit in five is for the
// child that carries the family on (every descendant's rank follows).
export function editRank(data) {
  const u = pick(data.users);
  const child = u.spine && Math.random() < 0.2 ? u.spine : pick(u.children);
  const res = send('PATCH', `/api/children/${child}`,
    { [u.rankField]: 1 + Math.floor(Math.random() * 5) }, u.token, 'PATCH /api/children/{id}',
    { tags: { line: child === u.spine ? 'true' : 'false' } });
  check(res, { 'rank edit: 200': (x) => x.status === 200 });
}

// A user logs in again (the token is not used: the setup's tokens last 12 h).
export function logIn(data) {
  const l = pick(data.logins);
  const res = send('POST', '/api/auth/token', { email: l.email, password: l.password }, null,
    'POST /api/auth/token', { expected: OK_OR_THROTTLED });
  loginThrottled.add(res.status === 429);
  check(res, { 'login: 200 or 429': (x) => x.status === 200 || x.status === 429 });
}
