// setup() of every script: families built through the API, as
// loadtest/loadtest.py's seed builds them for the wrk runner.
//   FAMILIES (3) families, each DEPTH (3) generations of couples; every
//   person has an account; each couple formed by partner requests (both ask);
//   the next generation's father is a child of the couple (set by staff with
//   PATCH /api/persons/{id}); KIDS (3) more children per couple, added by a
//   parent with POST /api/children.
// Staff credentials: STAFF_EMAIL (admin@localhost.localdomain) and
// STAFF_PASSWORD (required; make run keeps it in .run/admin-password).
// Logins come from one address here, and the service allows 30 a minute per
// address: beyond that setup waits (api.login), so keep FAMILIES * DEPTH * 2
// under about 28.
import { BASE_URL, get, login, must, send } from './api.js';

const PASSWORD = 'k6-load-password';

function int(name, fallback) {
  return parseInt(__ENV[name] || `${fallback}`, 10);
}

function rank() {
  return 1 + Math.floor(Math.random() * 5);
}

export function buildFamilies() {
  const staffEmail = __ENV.STAFF_EMAIL || 'admin@localhost.localdomain';
  if (!__ENV.STAFF_PASSWORD) {
    throw new Error('set STAFF_PASSWORD (k6 run -e STAFF_PASSWORD=...)');
  }
  const families = int('FAMILIES', 3);
  const depth = int('DEPTH', 3);
  const kids = int('KIDS', 3);
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const staff = login(staffEmail, __ENV.STAFF_PASSWORD);
  if (!staff) throw new Error('staff login throttled for too long');

  const users = [];
  const hot = [];
  const logins = [];
  for (let f = 0; f < families; f++) {
    let prev = null;
    for (let g = 0; g < depth; g++) {
      const ids = [];
      const emails = [];
      for (const side of ['a', 'b']) {
        const email = `k6-${run}-${side}${f}-${g}@loadtest.example`;
        const res = must(send('POST', '/api/persons', {
          first_name: `${side.toUpperCase()}${g}`, last_name: `K6 family ${f}`,
          account: { email, password: PASSWORD },
        }, staff, 'POST /api/persons'), 201, 'create a person');
        ids.push(res.json('id'));
        emails.push(email);
        logins.push({ email, password: PASSWORD });
      }
      const [a, b] = ids;
      if (prev) {
        must(send('PATCH', `/api/persons/${a}`, {
          father_id: prev[0].id, mother_id: prev[1].id, father_rank: rank(), mother_rank: rank(),
        }, staff, 'PATCH /api/persons/{id}'), 200, 'link a generation');
      }
      const ta = login(emails[0], PASSWORD);
      const tb = login(emails[1], PASSWORD);
      if (!ta || !tb) throw new Error('user logins throttled for too long');
      must(send('PUT', '/api/me/partner-request', { partner_id: b }, ta,
        'PUT /api/me/partner-request'), 202, 'ask for a partner');
      must(send('PUT', '/api/me/partner-request', { partner_id: a }, tb,
        'PUT /api/me/partner-request'), 201, 'ask back');
      const children = [];
      for (let k = 0; k < kids; k++) {
        const res = must(send('POST', '/api/children', {
          first_name: `Kid${k}`, last_name: `K6 family ${f}`, father_id: a, mother_id: b,
          father_rank: rank(), mother_rank: rank(),
        }, ta, 'POST /api/children'), 201, 'add a child');
        children.push(res.json('id'));
      }
      const couple = [
        { id: a, token: ta, father: a, mother: b, rankField: 'father_rank', children, spine: null },
        { id: b, token: tb, father: a, mother: b, rankField: 'mother_rank', children, spine: null },
      ];
      if (prev) {
        prev[0].spine = a;
        prev[1].spine = a;
      }
      users.push(...couple);
      hot.push(a, b, ...children);
      prev = couple;
    }
  }
  const etags = {};
  for (const id of hot) {
    const res = must(get(`/api/persons/${id}`, users[0].token, 'GET /api/persons/{id}'), 200,
      'read a person');
    etags[id] = res.headers.Etag || res.headers.ETag;
  }
  console.log(`setup: ${BASE_URL}: ${families} families x ${depth} generations, ` +
    `${users.length} accounts, ${hot.length} persons`);
  return {
    users, hot, etags, logins,
    // Persons 1..COLD_MAX exist outside these families (e.g. the genealogy
    // loadtest/run.sh loads): read as the "cold" part of browsing. 0: none.
    coldMax: int('COLD_MAX', 0),
  };
}
