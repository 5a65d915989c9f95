#!/usr/bin/env python3
"""hub_server.py — a tiny stand-in for the Hugging Face hub, for the download
tests (standard library only; listens on 127.0.0.1 only; exits by itself
after --lifetime seconds).

    hub_server.py --files DIR --port-file PATH [--log PATH] [--lifetime S] [--tls PEM]

--tls PEM serves HTTPS with the certificate and key in PEM (a self-signed one:
clients that verify certificates must refuse it).

Serves DIR's files as every repository ORG/NAME at /ORG/NAME/resolve/REV/FILE
the way the hub does:
  * model.safetensors is an "LFS" file: HEAD and GET answer 302 to /cdn/FILE
    with X-Linked-Etag "<sha256>" and X-Linked-Size; /cdn/FILE serves the
    bytes (Range supported, 206).
  * other files are regular git files: 200 with ETag "<git blob sha1>".
  * every answer has X-Repo-Commit.
The repository NAME picks a behaviour:
  cut-*     the first GET of model.safetensors sends half the bytes of its
            Content-Length and closes the connection
  badsha-*  states a wrong sha256 for model.safetensors
  badgit-*  states a wrong git sha1 for config.json
  norange-* ignores Range requests (answers 200 with the whole file)
  missing-* 404 for every file (X-Error-Code: RepositoryNotFound)
  otherhost-* model.safetensors redirects to the CDN under another host name
            (localhost instead of 127.0.0.1: the same server)
  endless-* the CDN sends model.safetensors without a length, then more bytes
            forever (until the client hangs up)
  longer-*  the CDN sends model.safetensors with twice the bytes announced
  hugeheader-* every answer carries a 1 MB header
  slow-*    the CDN sends model.safetensors in 256 KB pieces 10 ms apart
Each request is logged as "METHOD PATH RANGE HOST AUTH" to --log, AUTH being
the Authorization header or "-".
"""
import argparse
import hashlib
import http.server
import os
import ssl
import sys
import threading
import time

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    files = ""
    log_path = None
    cut_done = set()
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # quiet
        pass

    def note(self):
        if self.log_path:
            with self.lock, open(self.log_path, "a") as f:
                f.write("%s %s %s %s %s\n" % (self.command, self.path,
                                               self.headers.get("Range", "-"),
                                               self.headers.get("Host", "-"),
                                               self.headers.get("Authorization", "-").replace(" ", "_")))

    def send(self, code, headers, body=b""):
        self.send_response(code)
        if "/hugeheader-" in self.path:
            self.send_header("X-Padding", "x" * (1 << 20))
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def content(self, name):
        path = os.path.join(self.files, name)
        if "/" in name or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def serve_bytes(self, data, extra, repo_name, name):
        if name == "model.safetensors" and self.command == "GET" and \
                repo_name.startswith(("endless-", "longer-")):
            self.send_response(200)
            for k, v in extra:
                self.send_header(k, v)
            if repo_name.startswith("longer-"):
                self.send_header("Content-Length", str(2 * len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                if repo_name.startswith("longer-"):
                    self.wfile.write(data + data)
                else:
                    while True:  # no length: the body ends when the connection does
                        self.wfile.write(b"\0" * 65536)
            except OSError:
                pass
            return
        rng = self.headers.get("Range")
        start = 0
        if rng and rng.startswith("bytes=") and not repo_name.startswith("norange-"):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                return self.send(416, [("Content-Range", "bytes */%d" % len(data))] + extra)
            headers = extra + [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))),
                               ("Content-Length", str(len(data) - start))]
            code = 206
        else:
            headers = extra + [("Content-Length", str(len(data)))]
            code = 200
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        body = data[start:]
        key = (repo_name, name)
        if repo_name.startswith("slow-") and name == "model.safetensors":
            for at in range(0, len(body), 1 << 18):
                self.wfile.write(body[at:at + (1 << 18)])
                self.wfile.flush()
                time.sleep(0.01)
            return
        if repo_name.startswith("cut-") and name == "model.safetensors" and self.command == "GET":
            with self.lock:
                first = key not in self.cut_done
                self.cut_done.add(key)
            if first:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
        self.wfile.write(body)

    def handle_any(self):
        self.note()
        parts = self.path.split("?")[0].strip("/").split("/")
        # /cdn/REPO_NAME/FILE
        if len(parts) == 3 and parts[0] == "cdn":
            data = self.content(parts[2])
            if data is None:
                return self.send(404, [])
            return self.serve_bytes(data, [("ETag", '"cdn-etag"')], parts[1], parts[2])
        # /ORG/NAME/resolve/REV/FILE
        if len(parts) != 5 or parts[2] != "resolve":
            return self.send(404, [("X-Error-Code", "EntryNotFound")])
        org, name, _, rev, fname = parts
        if name.startswith("missing-"):
            return self.send(404, [("X-Error-Code", "RepositoryNotFound")], b"Repository not found")
        data = self.content(fname)
        if data is None:
            return self.send(404, [("X-Error-Code", "EntryNotFound"), ("X-Repo-Commit", COMMIT)],
                             b"Entry not found")
        common = [("X-Repo-Commit", COMMIT)]
        if fname == "model.safetensors":
            sha = hashlib.sha256(data).hexdigest()
            if name.startswith("badsha-"):
                sha = hashlib.sha256(data + b"x").hexdigest()
            host = self.headers.get("Host", "127.0.0.1")
            if name.startswith("otherhost-"):
                host = host.replace("127.0.0.1", "localhost")
            return self.send(302, common + [
                ("Location", "http://%s/cdn/%s/%s" % (host, name, fname)),
                ("X-Linked-Etag", '"%s"' % sha),
                ("X-Linked-Size", str(len(data))),
                ("ETag", '"%s"' % sha)])
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        if name.startswith("badgit-") and fname == "config.json":
            blob = hashlib.sha1(b"something else").hexdigest()
        return self.serve_bytes(data, common + [("ETag", '"%s"' % blob)], name, fname)

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (the interrupted download test)

    do_GET = handle_any
    do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--tls")
    a = ap.parse_args()
    Handler.files = a.files
    Handler.log_path = a.log
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    threading.Timer(a.lifetime, lambda: os._exit(0)).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
