// `--upstream nginx`: Debian's nginx as the upstream of the GET cells, as the pre-study measured
// against it. It serves /version and the two list sizes as static files (the same bytes the Go
// upstream builds), over TLS with h2 and http/1.1 by ALPN, to a client certificate or the bearer
// token. It serves no watches and no upgraded stream: those rows show no data.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EXAMPLE_VERSION } from '../../examples/api-server.js';
import { listBody } from '../../examples/api-server/pod-list.js';
import { PKI_FILES } from '../../examples/pki.js';
import { LIST_100K, LIST_20M, LIST_PATH } from './cells.js';
import { ensureCommand } from './debian-tools.js';

/** Where Debian's package puts it; /usr/sbin is not on every user's PATH. */
const DEBIAN_NGINX = '/usr/sbin/nginx';
/** The list sizes the cells ask for; any other `bytes=` is a 404. */
const LIST_SIZES = [LIST_100K, LIST_20M];
/** kube-apiserver's default streams per h2 connection, as the Go upstream allows (nginx's own is 128). */
const MAX_CONCURRENT_STREAMS = 250;

/** Returns nginx's path, installing Debian's `nginx` when it is missing. */
function ensureNginx(): string {
  if (existsSync(DEBIAN_NGINX)) return DEBIAN_NGINX;
  ensureCommand(DEBIAN_NGINX, 'nginx', '--upstream nginx runs Debian\'s nginx');
  return DEBIAN_NGINX;
}

/** A port nobody listens on right now; nginx binds it a moment later. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The static bodies, named as the config's maps name them. */
function writeBodies(root: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'version.json'), JSON.stringify(EXAMPLE_VERSION));
  for (const bytes of LIST_SIZES) writeFileSync(join(root, `list-${bytes}.json`), listBody(bytes));
}

/**
 * Everything in `dir`: no system path is read or written, so nginx runs as any user. One process
 * (`master_process off`), in the foreground, errors to stderr (the bench keeps them for the report).
 */
export function nginxConfig(dir: string, pkiDir: string, token: string, port: number): string {
  const lists = LIST_SIZES.map((bytes) => `    ${bytes} /list-${bytes}.json;`).join('\n');
  return `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client-body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  types { }
  default_type application/json;
  sendfile on;
  open_file_cache max=16;
  etag off;
  keepalive_requests 100000;
  keepalive_timeout 120s;
  http2_max_concurrent_streams ${MAX_CONCURRENT_STREAMS};
  # As kube-apiserver: a verified client certificate, or else the bearer token.
  map $http_authorization $bearer_ok { "Bearer ${token}" 1; default 0; }
  map "$ssl_client_verify:$bearer_ok" $allowed { "~^SUCCESS:" 1; "~:1$" 1; default 0; }
  map $arg_bytes $list_file {
${lists}
    default /no-such-list;
  }
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${join(pkiDir, PKI_FILES.serverCert)};
    ssl_certificate_key ${join(pkiDir, PKI_FILES.serverKey)};
    ssl_client_certificate ${join(pkiDir, PKI_FILES.caCert)};
    ssl_verify_client optional;
    ssl_protocols TLSv1.2 TLSv1.3;
    root ${join(dir, 'www')};
    # kube-apiserver sets both on every response; they keep the header sizes realistic.
    add_header Audit-Id $request_id always;
    add_header Cache-Control "no-cache, private" always;
    if ($allowed = 0) { return 401 '{"kind":"Status","code":401}'; }
    location = /version { try_files /version.json =404; }
    location = ${LIST_PATH} { try_files $list_file =404; }
    location / { return 404 '{"kind":"Status","code":404}'; }
  }
}
`;
}

/** Writes the config and bodies into `dir`; returns how to start nginx and where it will listen. */
export async function prepareNginx(dir: string, pkiDir: string, token: string): Promise<{ command: string; args: string[]; url: string }> {
  const command = ensureNginx();
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  writeBodies(join(dir, 'www'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, pkiDir, token, port));
  // -e: the compiled-in error log (/var/log/nginx) is opened before the config is read.
  return { command, args: ['-p', dir, '-c', conf, '-e', 'stderr'], url: `https://127.0.0.1:${port}` };
}
