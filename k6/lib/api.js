// HTTP helpers shared by the k6 scripts: the base URL, JSON requests with a
// bearer token, logins that wait out the service's throttle.
import http from 'k6/http';
import { sleep } from 'k6';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');

// Pistache 0.0.5 closes the connection unless asked to keep it (through
// nginx this only matters between nginx and the service, which nginx asks
// for; straight to family-web, every request must say it).
const COMMON = { Connection: 'keep-alive' };

// Statuses that are a normal answer, per kind of request: k6 counts any
// other in http_req_failed.
export const OK = http.expectedStatuses({ min: 200, max: 399 });
export const OK_OR_THROTTLED = http.expectedStatuses({ min: 200, max: 399 }, 429);
export const OK_OR_MISSING = http.expectedStatuses({ min: 200, max: 399 }, 404);

export function params(token, name, extra = {}) {
  const headers = Object.assign({}, COMMON, extra.headers || {});
  if (token) headers.Authorization = `Bearer ${token}`;
  if (extra.body) headers['Content-Type'] = 'application/json';
  return {
    headers,
    // One name per route, not per URL: ids would make a metric series each.
    tags: Object.assign({ name }, extra.tags || {}),
    responseCallback: extra.expected || OK,
  };
}

export function get(path, token, name, extra = {}) {
  return http.get(BASE_URL + path, params(token, name, extra));
}

export function send(method, path, body, token, name, extra = {}) {
  const text = JSON.stringify(body);
  return http.request(method, BASE_URL + path, text,
    params(token, name, Object.assign({}, extra, { body: true })));
}

// POST /api/auth/token; on 429 waits Retry-After and tries again (the
// service allows 5 logins a minute per e-mail and 30 per client address),
// up to `patience` seconds. Returns the token, or null if throttled longer.
export function login(email, password, patience = 120) {
  const deadline = Date.now() + patience * 1000;
  for (;;) {
    const res = send('POST', '/api/auth/token', { email, password }, null, 'POST /api/auth/token',
      { expected: OK_OR_THROTTLED });
    if (res.status === 200) return res.json('token');
    if (res.status !== 429) {
      throw new Error(`login ${email}: HTTP ${res.status} ${res.body}`);
    }
    const wait = parseInt(res.headers['Retry-After'] || '5', 10);
    if (Date.now() + wait * 1000 > deadline) return null;
    sleep(wait);
  }
}

export function must(res, status, what) {
  if (res.status !== status) {
    throw new Error(`${what}: HTTP ${res.status} (expected ${status}): ${res.body}`);
  }
  return res;
}
