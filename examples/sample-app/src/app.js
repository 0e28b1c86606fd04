// The sample service: answers /health with the version it was built as. `handle` is what the tests call;
// running the file serves it over HTTP (PORT, default 8080).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export function version() {
  return JSON.parse(fs.readFileSync(path.join(here, 'version.json'), 'utf8'));
}

export function handle(urlPath) {
  if (urlPath === '/health') return { statusCode: 200, body: { status: 'ok', version: version() } };
  if (urlPath === '/')
    return { statusCode: 200, body: { message: 'Hello from the Lockstep sample app', commit: version().commit } };
  return { statusCode: 404, body: { message: 'Not Found' } };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT || 8080);
  http
    .createServer((req, res) => {
      const { statusCode, body } = handle(new URL(req.url, 'http://localhost').pathname);
      res.writeHead(statusCode, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    })
    .listen(port, () => console.log(`sample app listening on ${port}`));
}
